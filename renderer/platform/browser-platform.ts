// Platform for the web build: file inputs and drops for opening, downloads for saving, and
// IndexedDB for checkpoints and recent files. A page cannot reopen a file by path, so the
// recent list keeps a copy of each file's bytes up to MAX_RECENT_COPY_BYTES.

import { acceptAttribute, FILE_KINDS, formatByteLength } from '../../app/file-kinds';
import type { CheckpointMeta } from '../../app/ipc-contract';
import { IndexedDbStore, openIndexedDb, type KeyValueStore } from './key-value';
import { PlatformError, type OpenableKind, type Platform, type PlatformFile, type RecentEntry } from './platform';

export const MAX_RECENT_ENTRIES = 8;
export const MAX_RECENT_COPY_BYTES = 64 * 1024 * 1024;

export interface StoredRecent {
  entry: RecentEntry;
  /** Copy of the file, absent when it was larger than MAX_RECENT_COPY_BYTES. */
  bytes?: Uint8Array;
}

export interface BrowserPlatformDependencies {
  recent: KeyValueStore<StoredRecent>;
  checkpointMetas: KeyValueStore<CheckpointMeta>;
  checkpointBytes: KeyValueStore<Uint8Array>;
  pickFiles(accept: string, multiple: boolean): Promise<File[]>;
  download(fileName: string, bytes: Uint8Array, mimeType: string): void;
  now(): number;
  randomId(): string;
}

const MIME_TYPES = { checkpoint: 'application/octet-stream', project: 'application/json', wav: 'audio/wav' } as const;

async function readFile(file: File, kind: OpenableKind): Promise<PlatformFile> {
  const limit = FILE_KINDS[kind].maxByteLength;
  if (file.size > limit) {
    throw new PlatformError(`${file.name} is ${formatByteLength(file.size)}, larger than the ${formatByteLength(limit)} limit.`, 'Trim the file or split it into shorter clips.');
  }
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

export function createBrowserPlatform(deps: BrowserPlatformDependencies): Platform {
  const recentListeners = new Set<(entries: RecentEntry[]) => void>();

  async function listRecent(): Promise<RecentEntry[]> {
    const stored = await deps.recent.values();
    return stored.map((item) => item.entry).sort((a, b) => b.openedAtMs - a.openedAtMs);
  }

  async function notifyRecent(): Promise<void> {
    const entries = await listRecent();
    for (const listener of recentListeners) listener(entries);
  }

  async function rememberRecent(file: PlatformFile, kind: OpenableKind): Promise<void> {
    // One entry per name and kind: reopening a file moves it to the top.
    const existing = (await deps.recent.values()).find((item) => item.entry.name === file.name && item.entry.kind === kind);
    const key = existing?.entry.key ?? deps.randomId();
    const canReopen = file.bytes.byteLength <= MAX_RECENT_COPY_BYTES;
    const entry: RecentEntry = { key, name: file.name, kind, openedAtMs: deps.now(), canReopen };
    await deps.recent.put(key, canReopen ? { entry, bytes: file.bytes.slice() } : { entry });

    const all = await listRecent();
    for (const stale of all.slice(MAX_RECENT_ENTRIES)) await deps.recent.delete(stale.key);
    await notifyRecent();
  }

  return {
    kind: 'web',

    async openFiles(kind, options) {
      const files = await deps.pickFiles(acceptAttribute(kind), options.multiple);
      const opened: PlatformFile[] = [];
      for (const file of files) {
        const read = await readFile(file, kind);
        opened.push(read);
        await rememberRecent(read, kind);
      }
      return opened;
    },

    async readDroppedFiles(files) {
      const opened: PlatformFile[] = [];
      for (const file of files) opened.push(await readFile(file, 'audio'));
      return opened;
    },

    async saveFile(kind, suggestedName, bytes) {
      const extension = FILE_KINDS[kind].extensions[0] ?? '';
      const name = suggestedName.toLowerCase().endsWith(`.${extension}`) ? suggestedName : `${suggestedName}.${extension}`;
      deps.download(name, bytes, MIME_TYPES[kind]);
      return { status: 'saved', location: `${name} in the browser's downloads` };
    },

    listRecent,

    async openRecent(key) {
      const stored = await deps.recent.get(key);
      if (!stored) throw new PlatformError('That file is no longer on the recent list.', 'Open it again with Open.');
      if (!stored.bytes) {
        throw new PlatformError(
          `${stored.entry.name} was too large to keep a copy in the browser.`,
          'Open it again with Open or drop it on the window.',
        );
      }
      await deps.recent.put(key, { entry: { ...stored.entry, openedAtMs: deps.now() }, bytes: stored.bytes });
      await notifyRecent();
      return { name: stored.entry.name, bytes: stored.bytes.slice() };
    },

    async clearRecent() {
      await deps.recent.clear();
      await notifyRecent();
    },

    rememberRecent,

    onRecentChanged(listener) {
      recentListeners.add(listener);
      return () => {
        recentListeners.delete(listener);
      };
    },

    async listCheckpoints() {
      return (await deps.checkpointMetas.values()).sort((a, b) => b.createdAtMs - a.createdAtMs);
    },

    async writeCheckpoint(meta, bytes) {
      const full: CheckpointMeta = { ...meta, byteLength: bytes.byteLength };
      // Bytes first: a listed checkpoint always has its weights.
      await deps.checkpointBytes.put(meta.id, bytes.slice());
      await deps.checkpointMetas.put(meta.id, full);
      return full;
    },

    async readCheckpoint(id) {
      const bytes = await deps.checkpointBytes.get(id);
      if (!bytes) throw new PlatformError(`Checkpoint ${id} is not in the browser's storage.`, 'It may have been removed with the site data; train again or open a checkpoint file.');
      return bytes.slice();
    },

    async deleteCheckpoint(id) {
      await deps.checkpointMetas.delete(id);
      await deps.checkpointBytes.delete(id);
    },

    onMenuCommand: () => () => {},
    onOpenRecentRequested: () => () => {},
  };
}

/** Creates the browser platform over IndexedDB and the DOM. */
export function createDefaultBrowserPlatform(pickFiles: BrowserPlatformDependencies['pickFiles'], download: BrowserPlatformDependencies['download']): Platform {
  const database = openIndexedDb('mamba-audio', 1, ['recent', 'checkpoint-metas', 'checkpoint-bytes']);
  return createBrowserPlatform({
    recent: new IndexedDbStore<StoredRecent>(database, 'recent'),
    checkpointMetas: new IndexedDbStore<CheckpointMeta>(database, 'checkpoint-metas'),
    checkpointBytes: new IndexedDbStore<Uint8Array>(database, 'checkpoint-bytes'),
    pickFiles,
    download,
    now: () => Date.now(),
    randomId: () => crypto.randomUUID(),
  });
}
