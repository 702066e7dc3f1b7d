// Finds the Electron binary without the electron package's own lookup: `require('electron')`
// in electron 45 starts a download from GitHub when the binary is missing, which must not
// happen on offline machines or in tests. This reads the same files that lookup reads.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const electronPackage = fileURLToPath(new URL('../../node_modules/electron/', import.meta.url));

export type ElectronLookup = { found: true; path: string } | { found: false; reason: string };

/**
 * Looks for the binary in MAMBA_ELECTRON, then ELECTRON_OVERRIDE_DIST_PATH, then where the
 * electron package's postinstall puts it (node_modules/electron/dist, named in path.txt).
 */
export function findElectronBinary(env: Record<string, string | undefined> = process.env): ElectronLookup {
  if (env.MAMBA_ELECTRON) {
    return existsSync(env.MAMBA_ELECTRON) ? { found: true, path: env.MAMBA_ELECTRON } : { found: false, reason: `MAMBA_ELECTRON=${env.MAMBA_ELECTRON} does not exist` };
  }

  const pathFile = join(electronPackage, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = join(env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
    return existsSync(candidate) ? { found: true, path: candidate } : { found: false, reason: `${candidate} (from ELECTRON_OVERRIDE_DIST_PATH) does not exist` };
  }
  if (!relative) return { found: false, reason: 'node_modules/electron/path.txt is missing: the binary was never downloaded' };

  const candidate = join(electronPackage, 'dist', relative);
  return existsSync(candidate) ? { found: true, path: candidate } : { found: false, reason: `${candidate} does not exist` };
}
