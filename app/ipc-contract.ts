// The one IPC contract between the Electron main process, the preload and the renderer.
//
// Every channel is named here, once. The preload maps `DesktopApi` onto these channels, and
// the main process registers a handler for each. Both mappings are typed against the
// interfaces below, so a missing or extra method is a compile error on either side.
//
// This file is imported by main, preload and renderer code, so it must not import
// Electron or Node modules: types and plain constants only.

/** Kind of a file that is opened or saved. Each kind has its own extensions and size limit. */
export type FileKind = 'audio' | 'checkpoint' | 'project' | 'wav';

/** A file the user picked, read by the main process. */
export interface OpenedFile {
  /** Base name with extension, e.g. `reunion_16k.wav`. */
  name: string;
  /** Absolute path on disk. */
  path: string;
  bytes: Uint8Array;
}

export interface OpenFilesRequest {
  kind: Exclude<FileKind, 'wav'>;
  multiple: boolean;
}

export interface SaveFileRequest {
  kind: Exclude<FileKind, 'audio'>;
  /** Base name offered in the dialog; the user may change it. */
  suggestedName: string;
  bytes: Uint8Array;
}

export type SaveFileResult = { status: 'saved'; path: string } | { status: 'canceled' };

export interface RecentFile {
  path: string;
  name: string;
  kind: Exclude<FileKind, 'wav'>;
  /** Milliseconds since the Unix epoch. */
  openedAtMs: number;
}

/** A checkpoint kept in the app's own storage (userData/checkpoints in the desktop app). */
export interface CheckpointMeta {
  /** Storage key: lowercase letters, digits and dashes only, so it is safe as a file name. */
  id: string;
  /** Label shown in the UI, e.g. `reunion step 1200`. */
  label: string;
  step: number;
  /** Training loss in nats per sample at the time of saving, if known. */
  loss: number | null;
  byteLength: number;
  /** Milliseconds since the Unix epoch. */
  createdAtMs: number;
}

export interface AppInfo {
  version: string;
  electronVersion: string;
  chromeVersion: string;
  /** Node's `process.platform` of the main process. */
  platform: string;
  /** Command-line switches applied for WebGPU, for the diagnostics panel. */
  gpuSwitches: string[];
}

/** Commands sent by the application menu; the renderer runs them like toolbar buttons. */
export type MenuCommand =
  | 'open-audio'
  | 'open-checkpoint'
  | 'open-project'
  | 'save-project'
  | 'save-checkpoint'
  | 'export-wav'
  | 'view-library'
  | 'view-train'
  | 'view-generate'
  | 'view-inspect'
  | 'view-lab'
  | 'toggle-playback';

export const MENU_COMMANDS: readonly MenuCommand[] = [
  'open-audio',
  'open-checkpoint',
  'open-project',
  'save-project',
  'save-checkpoint',
  'export-wav',
  'view-library',
  'view-train',
  'view-generate',
  'view-inspect',
  'view-lab',
  'toggle-playback',
];

/**
 * Request/response methods, invoked from the renderer and handled by the main process.
 * Arguments and results cross the process boundary by structured clone, so they are plain
 * data and typed arrays. A method that can be canceled by the user returns an empty list
 * or `{ status: 'canceled' }` instead of throwing.
 */
export interface InvokeContract {
  getAppInfo(): Promise<AppInfo>;
  openFiles(request: OpenFilesRequest): Promise<OpenedFile[]>;
  /** Reads a file that was dropped on the window; the path comes from `pathForFile`. */
  readDroppedFile(path: string): Promise<OpenedFile>;
  saveFile(request: SaveFileRequest): Promise<SaveFileResult>;
  listRecentFiles(): Promise<RecentFile[]>;
  /** Re-reads a file from the recent list; paths not on that list are rejected. */
  openRecentFile(path: string): Promise<OpenedFile>;
  clearRecentFiles(): Promise<void>;
  listCheckpoints(): Promise<CheckpointMeta[]>;
  writeCheckpoint(meta: Omit<CheckpointMeta, 'byteLength'>, bytes: Uint8Array): Promise<CheckpointMeta>;
  readCheckpoint(id: string): Promise<Uint8Array>;
  deleteCheckpoint(id: string): Promise<void>;
}

/** IPC channel of each invoke method. */
export const INVOKE_CHANNELS = {
  getAppInfo: 'app:get-info',
  openFiles: 'files:open',
  readDroppedFile: 'files:read-dropped',
  saveFile: 'files:save',
  listRecentFiles: 'recent:list',
  openRecentFile: 'recent:open',
  clearRecentFiles: 'recent:clear',
  listCheckpoints: 'checkpoints:list',
  writeCheckpoint: 'checkpoints:write',
  readCheckpoint: 'checkpoints:read',
  deleteCheckpoint: 'checkpoints:delete',
} as const satisfies Record<keyof InvokeContract, string>;

/** Messages pushed from the main process to the renderer. */
export interface EventContract {
  menuCommand: MenuCommand;
  /** The recent-files list changed (a file was opened or saved, or the list was cleared). */
  recentFilesChanged: RecentFile[];
  /** The user picked an entry under File > Open recent; the renderer opens it by path. */
  openRecentRequested: RecentFile;
}

export const EVENT_CHANNELS = {
  menuCommand: 'menu:command',
  recentFilesChanged: 'recent:changed',
  openRecentRequested: 'recent:open-requested',
} as const satisfies Record<keyof EventContract, string>;

/** Subscriptions to main-process events; each returns a function that unsubscribes. */
export type EventSubscriptions = {
  [K in keyof EventContract as `on${Capitalize<K>}`]: (listener: (payload: EventContract[K]) => void) => () => void;
};

/**
 * The API the preload exposes to the renderer as `window.mambaDesktop`. `pathForFile`
 * wraps Electron's `webUtils.getPathForFile`, which only works in the preload; it returns
 * an empty string for files that do not come from disk.
 */
export type DesktopApi = InvokeContract &
  EventSubscriptions & {
    pathForFile(file: File): string;
  };

/** Name of the global under which the preload exposes `DesktopApi`. */
export const DESKTOP_API_GLOBAL = 'mambaDesktop';

/** Scheme and host that the main process serves the renderer from. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'mamba';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
