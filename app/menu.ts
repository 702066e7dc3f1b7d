// The application menu. Items that act on the document send a MenuCommand to the renderer,
// which runs it like the matching toolbar button; standard items use Electron's roles.

import { app, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';

import type { MenuCommand, RecentFile } from './ipc-contract';

export interface MenuDependencies {
  sendCommand(command: MenuCommand): void;
  recentFiles: readonly RecentFile[];
  openRecent(path: string): void;
  clearRecent(): void;
  getMainWindow(): BrowserWindow | null;
}

export function buildAppMenu(deps: MenuDependencies): Menu {
  const isMac = process.platform === 'darwin';
  const command = (label: string, name: MenuCommand, accelerator?: string): MenuItemConstructorOptions => ({
    label,
    accelerator,
    click: () => deps.sendCommand(name),
  });

  const recentSubmenu: MenuItemConstructorOptions[] =
    deps.recentFiles.length === 0
      ? [{ label: 'No recent files', enabled: false }]
      : [
          ...deps.recentFiles.map((entry) => ({ label: entry.name, toolTip: entry.path, click: () => deps.openRecent(entry.path) })),
          { type: 'separator' as const },
          { label: 'Clear recent files', click: () => deps.clearRecent() },
        ];

  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        command('Open audio…', 'open-audio', 'CmdOrCtrl+O'),
        command('Open checkpoint…', 'open-checkpoint', 'CmdOrCtrl+Shift+O'),
        command('Open project…', 'open-project', 'CmdOrCtrl+Alt+O'),
        { label: 'Open recent', submenu: recentSubmenu },
        { type: 'separator' },
        command('Save project…', 'save-project', 'CmdOrCtrl+S'),
        command('Save checkpoint…', 'save-checkpoint', 'CmdOrCtrl+Shift+S'),
        command('Export generated audio as WAV…', 'export-wav', 'CmdOrCtrl+E'),
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        command('Library', 'view-library', 'CmdOrCtrl+1'),
        command('Train', 'view-train', 'CmdOrCtrl+2'),
        command('Generate', 'view-generate', 'CmdOrCtrl+3'),
        command('Inspect', 'view-inspect', 'CmdOrCtrl+4'),
        command('Lab', 'view-lab', 'CmdOrCtrl+5'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: '&Playback',
      submenu: [command('Play / pause', 'toggle-playback', 'CmdOrCtrl+P')],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'About mamba-audio',
          click: () => app.showAboutPanel(),
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
