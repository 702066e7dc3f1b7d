// Electron main process: WebGPU switches, the app protocol, security settings, IPC, the
// menu and the main window. Built to dist/app/main.js by app/tools/build-main.ts; it
// expects dist/app/preload.cjs beside it and the renderer build in dist/web.

import { app, BrowserWindow, Menu, session } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { handleAppProtocol, registerAppScheme } from './app-protocol';
import { CheckpointStore } from './checkpoint-store';
import { formatSwitches, mergeFeatureList, webGpuSwitches } from './gpu-switches';
import { registerIpcHandlers, sendToRenderer } from './ipc-handlers';
import { buildAppMenu } from './menu';
import { RecentFilesStore } from './recent-files';
import type { RecentFile } from './ipc-contract';
import { guardWebContents, installSessionSecurity } from './security';
import { createMainWindow } from './window';

const buildFolder = dirname(fileURLToPath(import.meta.url));
const rendererRoot = join(buildFolder, '..', 'web');
const preloadPath = join(buildFolder, 'preload.cjs');

// Command-line switches only take effect before `ready`.
const gpuSwitches = webGpuSwitches(process.platform, process.env);
for (const { name, value } of gpuSwitches) {
  if (name === 'enable-features') {
    const merged = mergeFeatureList(app.commandLine.getSwitchValue('enable-features'), value ?? '');
    app.commandLine.appendSwitch('enable-features', merged);
  } else if (value === undefined) {
    app.commandLine.appendSwitch(name);
  } else {
    app.commandLine.appendSwitch(name, value);
  }
}
console.info(`[main] WebGPU switches: ${formatSwitches(gpuSwitches).join(' ') || '(none)'}`);

registerAppScheme();
app.enableSandbox();

let mainWindow: BrowserWindow | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents));
  app.whenReady().then(start, (error: unknown) => {
    console.error('[main] startup failed:', error);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  installSessionSecurity(session.defaultSession);
  handleAppProtocol(rendererRoot);

  const userData = app.getPath('userData');
  const recentFiles = new RecentFilesStore(join(userData, 'recent-files.json'));
  await recentFiles.load();
  const checkpoints = new CheckpointStore(join(userData, 'checkpoints'));

  const getMainWindow = (): BrowserWindow | null => (mainWindow && !mainWindow.isDestroyed() ? mainWindow : null);

  const refreshMenu = (): void => {
    Menu.setApplicationMenu(
      buildAppMenu({
        getMainWindow,
        recentFiles: recentFiles.list(),
        sendCommand: (command) => sendToRenderer(getMainWindow(), 'menuCommand', command),
        openRecent: (path) => {
          const entry = recentFiles.has(path);
          if (entry) sendToRenderer(getMainWindow(), 'openRecentRequested', entry);
        },
        clearRecent: () => {
          void recentFiles.clear().then(() => {
            app.clearRecentDocuments();
            onRecentFilesChanged([]);
          });
        },
      }),
    );
  };
  const onRecentFilesChanged = (list: RecentFile[]): void => {
    sendToRenderer(getMainWindow(), 'recentFilesChanged', list);
    refreshMenu();
  };
  registerIpcHandlers({ getMainWindow, recentFiles, checkpoints, gpuSwitches, onRecentFilesChanged });
  refreshMenu();

  const openWindow = (): void => {
    mainWindow = createMainWindow({ preloadPath });
    mainWindow.on('closed', () => {
      mainWindow = null;
    });
  };
  openWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
