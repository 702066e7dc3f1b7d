// Node-only helpers that read and write audio files. The CLI and the tests use them, while
// the renderer reads files through the platform layer.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';

import { decodeAudio } from './decode';
import { AudioDecodeError } from './errors';
import type { DecodedAudio } from './types';

const ERRNO_REASONS: Record<string, string> = {
  ENOENT: 'the file was not found',
  EISDIR: 'the path is a directory, not a file',
  EACCES: 'permission to read the file was denied',
  EPERM: 'permission to read the file was denied',
  ELOOP: 'the path has a symbolic link loop',
  ENAMETOOLONG: 'the path is too long',
};

/** Reads a whole file. Throws AudioDecodeError 'unreadable' naming the path when that fails. */
export async function readAudioBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = ERRNO_REASONS[code] ?? `the file could not be read (${(error as Error).message})`;
    throw new AudioDecodeError('unreadable', path, reason, 'Check the path and the permissions of the file');
  }
}

/** Reads and decodes a file. Throws AudioDecodeError as readAudioBytes and decodeAudio do. */
export async function readAudioFile(path: string): Promise<DecodedAudio> {
  return decodeAudio(await readAudioBytes(path), path);
}

/**
 * Writes bytes to a temporary file next to path and renames it over path, so a crash or a
 * full disk never leaves a half-written file under the final name.
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporaryPath = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporaryPath, bytes);
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}
