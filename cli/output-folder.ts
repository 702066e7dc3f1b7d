// Checks made before long work that ends in writing a file: a missing folder found only at
// the end would throw away the work, or surface as a raw ENOENT.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { UsageError } from './args';

/** Throws UsageError, naming `option` (such as "--out out.wav"), unless the folder that will contain `path` exists. */
export function requireOutputFolder(path: string, option: string): void {
  const folder = dirname(resolve(path));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UsageError(`the folder of ${option} (${folder}) does not exist; create it or choose another path`);
  }
}
