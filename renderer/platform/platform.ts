// The services the renderer needs from its host, implemented over the Electron preload
// (electron-platform.ts) and over plain browser APIs (browser-platform.ts). Views and
// stores use only this interface, so the same UI runs in both.

import type { CheckpointMeta, FileKind, MenuCommand } from '../../app/ipc-contract';

export type { CheckpointMeta, FileKind, MenuCommand };

export type OpenableKind = Exclude<FileKind, 'wav'>;

export interface PlatformFile {
  name: string;
  bytes: Uint8Array;
  /** Absolute path in the desktop app; undefined in the browser, where pages see no paths. */
  path?: string;
}

export interface RecentEntry {
  /** Stable key: the path in the desktop app, a generated id in the browser. */
  key: string;
  name: string;
  kind: OpenableKind;
  openedAtMs: number;
  /** False when the browser could not keep a copy (too large); reopen it with Open. */
  canReopen: boolean;
}

export type SaveOutcome = { status: 'saved'; location: string } | { status: 'canceled' };

export interface Platform {
  readonly kind: 'electron' | 'web';
  /** Shows a file picker; resolves with [] when the user cancels. */
  openFiles(kind: OpenableKind, options: { multiple: boolean }): Promise<PlatformFile[]>;
  /** Reads the files of a drop event; files with unsupported extensions are rejected by the caller. */
  readDroppedFiles(files: readonly File[]): Promise<PlatformFile[]>;
  /** Saves bytes where the user chooses: a save dialog, or a download in the browser. */
  saveFile(kind: Exclude<FileKind, 'audio'>, suggestedName: string, bytes: Uint8Array): Promise<SaveOutcome>;

  listRecent(): Promise<RecentEntry[]>;
  openRecent(key: string): Promise<PlatformFile>;
  clearRecent(): Promise<void>;
  /** Records a file opened through a path the platform does not see (the browser's drops). */
  rememberRecent(file: PlatformFile, kind: OpenableKind): Promise<void>;
  onRecentChanged(listener: (entries: RecentEntry[]) => void): () => void;

  listCheckpoints(): Promise<CheckpointMeta[]>;
  writeCheckpoint(meta: Omit<CheckpointMeta, 'byteLength'>, bytes: Uint8Array): Promise<CheckpointMeta>;
  readCheckpoint(id: string): Promise<Uint8Array>;
  deleteCheckpoint(id: string): Promise<void>;

  /** Menu commands from the desktop app's menu; the browser has none, so it never calls back. */
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
  /** Requests from File > Open recent in the desktop menu. */
  onOpenRecentRequested(listener: (key: string) => void): () => void;
}

/** Error from a platform operation, with words the UI can show as they are. */
export class PlatformError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}
