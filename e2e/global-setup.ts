// Serves the web build for the web target and passes its URL to the tests through
// MAMBA_E2E_BASE_URL (Playwright hands environment variables set here to its workers).
// For the electron target it reports, once, when the Electron binary is missing.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FullConfig } from '@playwright/test';

import { findElectronBinary } from '../app/tools/electron-binary';
import { startStaticServer } from '../app/tools/serve-web';

const root = fileURLToPath(new URL('..', import.meta.url));

export default async function globalSetup(config: FullConfig): Promise<(() => Promise<void>) | undefined> {
  if (config.projects.some((project) => project.name === 'electron')) {
    const electron = findElectronBinary();
    if (!electron.found) console.log(`e2e: Electron binary not installed (${electron.reason}); every test of the electron project is skipped.`);
  }

  const needsWeb = config.projects.some((project) => project.name === 'web');
  if (!needsWeb || process.env.MAMBA_E2E_BASE_URL) return undefined;

  const webRoot = join(root, 'dist/web');
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new Error(`e2e: ${webRoot}/index.html is missing. Build it with \`npm run build:web\`, or run \`npm run e2e\`, which builds first.`);
  }
  const server = await startStaticServer({ root: webRoot });
  process.env.MAMBA_E2E_BASE_URL = server.url;
  return () => server.close();
}
