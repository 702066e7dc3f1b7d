// Main-process side of the IPC contract. Every handler first checks that the message comes
// from the main frame of our own window showing our own origin, then validates each
// argument (app/validate.ts) before it touches the file system.

import { app, dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { open as openFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute } from 'node:path';

import { writeFileAtomic } from './atomic-write';
import type { CheckpointStore } from './checkpoint-store';
import { FILE_KINDS, formatByteLength, hasExtensionOf } from './file-kinds';
import { formatSwitches, type SwitchSpec } from './gpu-switches';
import {
  EVENT_CHANNELS,
  INVOKE_CHANNELS,
  type EventContract,
  type FileKind,
  type InvokeContract,
  type OpenedFile,
  type RecentFile,
} from './ipc-contract';
import type { RecentFilesStore } from './recent-files';
import { isAppUrl } from './security';
import { expectBytes, expectCheckpointId, expectFilePath, expectString, IpcArgumentError, parseCheckpointMeta, parseOpenFilesRequest, parseSaveFileRequest } from './validate';

export interface IpcDependencies {
  getMainWindow(): BrowserWindow | null;
  recentFiles: RecentFilesStore;
  checkpoints: CheckpointStore;
  gpuSwitches: readonly SwitchSpec[];
  /** Called after every change of the recent-files list, to update the renderer and the menu. */
  onRecentFilesChanged(list: RecentFile[]): void;
}

/** One handler per invoke method; the mapped type makes a missing handler a compile error. */
type HandlerTable = {
  [K in keyof InvokeContract]: (args: unknown[]) => ReturnType<InvokeContract[K]>;
};

type OpenableKind = Exclude<FileKind, 'wav'>;
const OPENABLE_KINDS: readonly OpenableKind[] = ['audio', 'checkpoint', 'project'];

export function registerIpcHandlers(deps: IpcDependencies): void {
  const handlers = createHandlers(deps);
  for (const method of Object.keys(INVOKE_CHANNELS) as Array<keyof InvokeContract>) {
    const channel = INVOKE_CHANNELS[method];
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      assertTrustedSender(event, deps.getMainWindow(), channel);
      return handlers[method](args);
    });
  }
}

/** Sends a main-process event to the renderer of the main window, if it is open. */
export function sendToRenderer<K extends keyof EventContract>(window: BrowserWindow | null, name: K, payload: EventContract[K]): void {
  if (!window || window.isDestroyed()) return;
  window.webContents.send(EVENT_CHANNELS[name], payload);
}

function assertTrustedSender(event: IpcMainInvokeEvent, window: BrowserWindow | null, channel: string): void {
  const frame = event.senderFrame;
  const trusted =
    window !== null &&
    !window.isDestroyed() &&
    event.sender.id === window.webContents.id &&
    frame !== null &&
    frame.parent === null &&
    isAppUrl(frame.url);
  if (!trusted) {
    console.warn(`[ipc] rejected ${channel} from ${frame?.url ?? 'a destroyed frame'}`);
    throw new Error(`IPC ${channel} rejected: the sender is not the app window`);
  }
}

function createHandlers(deps: IpcDependencies): HandlerTable {
  const { recentFiles, checkpoints } = deps;

  async function remember(file: { path: string; name: string }, kind: OpenableKind): Promise<void> {
    const list = await recentFiles.add({ path: file.path, name: file.name, kind, openedAtMs: Date.now() });
    app.addRecentDocument(file.path);
    deps.onRecentFilesChanged(list);
  }

  return {
    async getAppInfo() {
      return {
        version: app.getVersion(),
        electronVersion: process.versions.electron ?? '',
        chromeVersion: process.versions.chrome ?? '',
        platform: process.platform,
        gpuSwitches: formatSwitches(deps.gpuSwitches),
      };
    },

    async openFiles(args) {
      const request = parseOpenFilesRequest(args[0]);
      const spec = FILE_KINDS[request.kind];
      const window = deps.getMainWindow();
      const options: Electron.OpenDialogOptions = {
        title: `Open ${spec.label.toLowerCase()}`,
        properties: request.multiple ? ['openFile', 'multiSelections'] : ['openFile'],
        filters: [
          { name: spec.label, extensions: [...spec.extensions] },
          { name: 'All files', extensions: ['*'] },
        ],
      };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      if (result.canceled) return [];

      const files: OpenedFile[] = [];
      for (const path of result.filePaths) {
        const file = await readUserFile(path, spec.maxByteLength);
        files.push(file);
        await remember(file, request.kind);
      }
      return files;
    },

    async readDroppedFile(args) {
      const path = expectString(args[0], 'path', 4096);
      const kind = OPENABLE_KINDS.find((candidate) => hasExtensionOf(candidate, path));
      if (!kind) {
        throw new IpcArgumentError('path', `${basename(path)} is not an audio file, checkpoint or project`);
      }
      expectFilePath(path, 'path', kind, isAbsolute);
      const file = await readUserFile(path, FILE_KINDS[kind].maxByteLength);
      await remember(file, kind);
      return file;
    },

    async saveFile(args) {
      const request = parseSaveFileRequest(args[0]);
      const spec = FILE_KINDS[request.kind];
      const extension = spec.extensions[0] ?? '';
      const suggested = extname(request.suggestedName) ? request.suggestedName : `${request.suggestedName}.${extension}`;
      const window = deps.getMainWindow();
      const options: Electron.SaveDialogOptions = {
        title: `Save ${spec.label.toLowerCase()}`,
        defaultPath: suggested,
        filters: [{ name: spec.label, extensions: [...spec.extensions] }],
        properties: ['showOverwriteConfirmation', 'createDirectory'],
      };
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      if (result.canceled || !result.filePath) return { status: 'canceled' };

      await writeFileAtomic(result.filePath, request.bytes);
      const reopenAs: OpenableKind = request.kind === 'wav' ? 'audio' : request.kind;
      await remember({ path: result.filePath, name: basename(result.filePath) }, reopenAs);
      return { status: 'saved', path: result.filePath };
    },

    async listRecentFiles() {
      return recentFiles.list();
    },

    async openRecentFile(args) {
      const path = expectString(args[0], 'path', 4096);
      const entry: RecentFile | undefined = recentFiles.has(path);
      if (!entry) throw new IpcArgumentError('path', `${basename(path)} is not on the recent-files list`);
      const file = await readUserFile(entry.path, FILE_KINDS[entry.kind].maxByteLength);
      await remember(file, entry.kind);
      return file;
    },

    async clearRecentFiles() {
      await recentFiles.clear();
      app.clearRecentDocuments();
      deps.onRecentFilesChanged([]);
    },

    async listCheckpoints() {
      return checkpoints.list();
    },

    async writeCheckpoint(args) {
      const meta = parseCheckpointMeta(args[0]);
      const bytes = expectBytes(args[1], 'bytes', FILE_KINDS.checkpoint.maxByteLength);
      return checkpoints.write(meta, bytes);
    },

    async readCheckpoint(args) {
      return checkpoints.read(expectCheckpointId(args[0], 'id'));
    },

    async deleteCheckpoint(args) {
      await checkpoints.delete(expectCheckpointId(args[0], 'id'));
    },
  };
}

/**
 * Reads a regular file no larger than `maxByteLength`. The size is checked on the open
 * handle, so a file swapped between the check and the read cannot slip past it.
 */
async function readUserFile(path: string, maxByteLength: number): Promise<OpenedFile> {
  const handle = await openFile(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`Failed to open ${basename(path)} in ${dirname(path)}: ${describeFileError(error)}`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${basename(path)} is not a regular file`);
    if (info.size > maxByteLength) {
      throw new Error(`${basename(path)} is ${formatByteLength(info.size)}, larger than the ${formatByteLength(maxByteLength)} limit`);
    }
    const bytes = new Uint8Array(await handle.readFile());
    return { name: basename(path), path, bytes };
  } finally {
    await handle.close();
  }
}

function describeFileError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'the file was not found (moved or deleted?)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder, not a file';
    default:
      return error.code ?? error.message;
  }
}
