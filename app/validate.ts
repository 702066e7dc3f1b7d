// Argument checks for IPC handlers. The renderer is treated as untrusted: every value that
// arrives over IPC is checked here before the main process touches the file system.
// Each check throws IpcArgumentError, which names the argument and the rule it broke.

import type { CheckpointMeta, FileKind, OpenFilesRequest, SaveFileRequest } from './ipc-contract';
import { FILE_KINDS, formatByteLength, hasExtensionOf } from './file-kinds';

export class IpcArgumentError extends Error {
  constructor(argumentName: string, rule: string) {
    super(`Invalid IPC argument ${argumentName}: ${rule}`);
    this.name = 'IpcArgumentError';
  }
}

/** Longest path accepted over IPC; far above any real path, it only bounds the work. */
const MAX_PATH_LENGTH = 4096;
const MAX_LABEL_LENGTH = 200;
const CHECKPOINT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,99}$/;

export function expectRecord(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IpcArgumentError(name, `expected an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

export function expectString(value: unknown, name: string, maxLength: number): string {
  if (typeof value !== 'string') throw new IpcArgumentError(name, `expected a string, got ${describeValue(value)}`);
  if (value.length === 0) throw new IpcArgumentError(name, 'must not be empty');
  if (value.length > maxLength) throw new IpcArgumentError(name, `is ${value.length} characters, the maximum is ${maxLength}`);
  if (value.includes('\0')) throw new IpcArgumentError(name, 'must not contain NUL characters');
  return value;
}

export function expectBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new IpcArgumentError(name, `expected a boolean, got ${describeValue(value)}`);
  return value;
}

export function expectFiniteNumber(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new IpcArgumentError(name, `expected a finite number, got ${describeValue(value)}`);
  }
  if (value < min || value > max) throw new IpcArgumentError(name, `${value} is outside [${min}, ${max}]`);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new IpcArgumentError(name, `expected one of ${allowed.join(', ')}, got ${describeValue(value)}`);
  }
  return value as T;
}

export function expectBytes(value: unknown, name: string, maxByteLength: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new IpcArgumentError(name, `expected a Uint8Array, got ${describeValue(value)}`);
  if (value.byteLength > maxByteLength) {
    throw new IpcArgumentError(name, `is ${formatByteLength(value.byteLength)}, the maximum is ${formatByteLength(maxByteLength)}`);
  }
  return value;
}

/**
 * Checks an absolute path that should name a file of `kind`. It does not check that the
 * file exists: the caller reads it and reports a missing file as an I/O error.
 */
export function expectFilePath(value: unknown, name: string, kind: FileKind, isAbsolute: (path: string) => boolean): string {
  const path = expectString(value, name, MAX_PATH_LENGTH);
  if (!isAbsolute(path)) throw new IpcArgumentError(name, `must be an absolute path, got ${JSON.stringify(path)}`);
  if (!hasExtensionOf(kind, path)) {
    throw new IpcArgumentError(name, `must end in .${FILE_KINDS[kind].extensions.join(', .')}, got ${JSON.stringify(path)}`);
  }
  return path;
}

export function expectCheckpointId(value: unknown, name: string): string {
  const id = expectString(value, name, 100);
  if (!CHECKPOINT_ID_PATTERN.test(id)) {
    throw new IpcArgumentError(name, `must be lowercase letters, digits and dashes, got ${JSON.stringify(id)}`);
  }
  return id;
}

export function parseOpenFilesRequest(value: unknown): OpenFilesRequest {
  const record = expectRecord(value, 'request');
  return {
    kind: expectOneOf(record.kind, 'request.kind', ['audio', 'checkpoint', 'project'] as const),
    multiple: expectBoolean(record.multiple, 'request.multiple'),
  };
}

export function parseSaveFileRequest(value: unknown): SaveFileRequest {
  const record = expectRecord(value, 'request');
  const kind = expectOneOf(record.kind, 'request.kind', ['checkpoint', 'project', 'wav'] as const);
  const suggestedName = expectString(record.suggestedName, 'request.suggestedName', 255);
  if (/[\\/]/.test(suggestedName)) {
    throw new IpcArgumentError('request.suggestedName', `must be a base name without folders, got ${JSON.stringify(suggestedName)}`);
  }
  return { kind, suggestedName, bytes: expectBytes(record.bytes, 'request.bytes', FILE_KINDS[kind].maxByteLength) };
}

export function parseCheckpointMeta(value: unknown): Omit<CheckpointMeta, 'byteLength'> {
  const record = expectRecord(value, 'meta');
  const loss = record.loss === null ? null : expectFiniteNumber(record.loss, 'meta.loss', 0, 1e6);
  return {
    id: expectCheckpointId(record.id, 'meta.id'),
    label: expectString(record.label, 'meta.label', MAX_LABEL_LENGTH),
    step: expectFiniteNumber(record.step, 'meta.step', 0, Number.MAX_SAFE_INTEGER),
    loss,
    createdAtMs: expectFiniteNumber(record.createdAtMs, 'meta.createdAtMs', 0, Number.MAX_SAFE_INTEGER),
  };
}

/** Short description of a rejected value for error messages; never echoes long strings. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === 'string') return value.length > 60 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
