// Extensions, dialog filters and size limits per file kind, shared by the main process
// (dialogs, argument checks) and the renderer (the web build's file inputs).

import type { FileKind } from './ipc-contract';

export interface FileKindSpec {
  /** Dialog filter name. */
  label: string;
  /** Lowercase extensions without the dot; the first one is used when saving. */
  extensions: readonly string[];
  /** Files above this size are rejected before they are read into memory. */
  maxByteLength: number;
}

const MIB = 1024 * 1024;

export const FILE_KINDS: Record<FileKind, FileKindSpec> = {
  audio: {
    label: 'Audio',
    extensions: ['wav', 'wave', 'flac', 'mp3', 'ogg', 'oga'],
    maxByteLength: 512 * MIB,
  },
  checkpoint: {
    label: 'Mamba checkpoint (safetensors)',
    extensions: ['safetensors'],
    maxByteLength: 1024 * MIB,
  },
  project: {
    label: 'Mamba audio project',
    extensions: ['mambaproj'],
    maxByteLength: 16 * MIB,
  },
  wav: {
    label: 'WAV audio',
    extensions: ['wav'],
    maxByteLength: 1024 * MIB,
  },
};

/** Returns the lowercase extension of a file name without the dot, or '' when it has none. */
export function extensionOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Returns whether a file name has one of the extensions of `kind`. */
export function hasExtensionOf(kind: FileKind, fileName: string): boolean {
  return FILE_KINDS[kind].extensions.includes(extensionOf(fileName));
}

/** Comma-separated `accept` attribute for an `<input type=file>`, e.g. `.wav,.flac`. */
export function acceptAttribute(kind: FileKind): string {
  return FILE_KINDS[kind].extensions.map((extension) => `.${extension}`).join(',');
}

/** Formats a byte count for messages, e.g. `512 MiB`. */
export function formatByteLength(byteLength: number): string {
  if (byteLength >= MIB) return `${(byteLength / MIB).toFixed(byteLength % MIB === 0 ? 0 : 1)} MiB`;
  if (byteLength >= 1024) return `${(byteLength / 1024).toFixed(1)} KiB`;
  return `${byteLength} B`;
}
