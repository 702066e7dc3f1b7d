// Platform over the Electron preload API (`window.mambaDesktop`, see app/preload.ts).

import { DESKTOP_API_GLOBAL, type DesktopApi, type RecentFile } from '../../app/ipc-contract';
import { PlatformError, type Platform, type PlatformFile, type RecentEntry } from './platform';

declare global {
  interface Window {
    [DESKTOP_API_GLOBAL]?: DesktopApi;
  }
}

/** Returns the preload API when the page runs inside the desktop app. */
export function findDesktopApi(target: Window = window): DesktopApi | undefined {
  return target[DESKTOP_API_GLOBAL];
}

/**
 * Electron prefixes errors from the main process with "Error invoking remote method
 * '<channel>': Error: "; the rest is our own message, which is what the user should see.
 */
export function unwrapIpcError(error: unknown): PlatformError {
  const raw = error instanceof Error ? error.message : String(error);
  const message = raw.replace(/^Error invoking remote method '[^']*': (?:[A-Za-z]*Error: )?/, '');
  return new PlatformError(message, 'Check that the file exists and is readable, then try again.');
}

function toRecentEntry(file: RecentFile): RecentEntry {
  return { key: file.path, name: file.name, kind: file.kind, openedAtMs: file.openedAtMs, canReopen: true };
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw unwrapIpcError(error);
  }
}

export function createElectronPlatform(api: DesktopApi): Platform {
  return {
    kind: 'electron',

    openFiles: (kind, options) => call(() => api.openFiles({ kind, multiple: options.multiple })),

    async readDroppedFiles(files) {
      const opened: PlatformFile[] = [];
      for (const file of files) {
        const path = api.pathForFile(file);
        // Files dragged from another app's memory (not from disk) have no path.
        if (path) opened.push(await call(() => api.readDroppedFile(path)));
        else opened.push({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
      }
      return opened;
    },

    async saveFile(kind, suggestedName, bytes) {
      const result = await call(() => api.saveFile({ kind, suggestedName, bytes }));
      return result.status === 'saved' ? { status: 'saved', location: result.path } : { status: 'canceled' };
    },

    listRecent: async () => (await call(() => api.listRecentFiles())).map(toRecentEntry),
    openRecent: (key) => call(() => api.openRecentFile(key)),
    clearRecent: () => call(() => api.clearRecentFiles()),
    // The main process records every file it reads, so there is nothing to add here.
    rememberRecent: async () => {},
    onRecentChanged: (listener) => api.onRecentFilesChanged((files) => listener(files.map(toRecentEntry))),

    listCheckpoints: () => call(() => api.listCheckpoints()),
    writeCheckpoint: (meta, bytes) => call(() => api.writeCheckpoint(meta, bytes)),
    readCheckpoint: (id) => call(() => api.readCheckpoint(id)),
    deleteCheckpoint: (id) => call(() => api.deleteCheckpoint(id)),

    onMenuCommand: (listener) => api.onMenuCommand(listener),
    onOpenRecentRequested: (listener) => api.onOpenRecentRequested((file) => listener(file.path)),
  };
}
