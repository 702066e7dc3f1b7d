// Locations of the shared test audio: ../shared/data/audio next to the repository, or
// MAMBA_AUDIO_SHARED_DATA when set (the folder that contains audio/).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

export const SHARED_DATA = resolve(process.env.MAMBA_AUDIO_SHARED_DATA ?? join(repositoryRoot, '..', 'shared', 'data'));

/** Absolute path of a file under the shared audio folder; throws with the fix when it is missing. */
export function sharedAudio(relativePath: string): string {
  const path = join(SHARED_DATA, 'audio', relativePath);
  if (!existsSync(path)) {
    throw new Error(`e2e: test audio ${path} not found. Set MAMBA_AUDIO_SHARED_DATA to the folder that contains audio/.`);
  }
  return path;
}
