// Atomic file replacement for projects, checkpoints and exports.
//
// The bytes go to a temporary file in the destination folder, are flushed with fsync, and
// the temporary file is renamed over the destination. A rename within one file system
// replaces the name atomically (POSIX rename(2); MoveFileEx with REPLACE_EXISTING on
// Windows, which Node's fs.rename uses), so a crash leaves either the old file or the
// complete new one, never a truncated mix. The folder is fsynced afterwards so that the
// rename itself survives a power loss; Windows cannot open folders for that, so it is
// skipped there.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode for a newly created file; the default 0o644 is rw-r--r--. */
  mode?: number;
  /** Whether to fsync the folder after the rename; on by default except on Windows. */
  syncDirectory?: boolean;
}

/** Writes `bytes` to `path` atomically; see the file header for the guarantees. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const folder = dirname(path);
  const temporaryPath = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);

  // 'wx' fails if the name exists, so two writers never share a temporary file.
  const handle = await open(temporaryPath, 'wx', options.mode ?? 0o644);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => {
      // The temporary file is already gone (rename got that far) or was never written.
    });
    throw error;
  }

  if (options.syncDirectory ?? process.platform !== 'win32') {
    await syncDirectory(folder);
  }
}

async function syncDirectory(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
