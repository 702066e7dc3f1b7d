// `npm start`: runs the desktop app when the Electron binary is installed. Otherwise it
// prints one line saying so and runs the same UI in web mode. It builds the UI, serves it
// on 127.0.0.1, and opens Debian's Chromium with the WebGPU flags when a display exists,
// else prints the URL.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

import { buildMain } from './build-main';
import { chromiumArgs, CHROMIUM_PATH } from './chromium';
import { findElectronBinary } from './electron-binary';
import { startStaticServer } from './serve-web';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function buildRenderer(): Promise<void> {
  // Only errors: build warnings would bury the one line that names the mode that started.
  await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'error' });
}

async function runElectron(electronPath: string): Promise<never> {
  await Promise.all([buildRenderer(), buildMain()]);
  const child = spawn(electronPath, [join(root, 'dist/app/main.js')], { stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.on('exit', (exitCode) => resolve(exitCode ?? 1)));
  process.exit(code);
}

async function runWebMode(): Promise<void> {
  await buildRenderer();
  const server = await startStaticServer({ root: join(root, 'dist/web') });
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

  if (!hasDisplay || !existsSync(CHROMIUM_PATH)) {
    console.log(`Web mode: open ${server.url} in Chromium started with ${chromiumArgs().filter((arg) => arg.includes('webgpu') || arg.includes('angle')).join(' ')}`);
    console.log(hasDisplay ? `(${CHROMIUM_PATH} not found.) Press Ctrl+C to stop.` : '(No display found.) Press Ctrl+C to stop.');
    const stop = (): void => void server.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return;
  }

  // A throwaway profile keeps the user's own Chromium profile out of it.
  const profile = await mkdtemp(join(tmpdir(), 'mamba-audio-chromium-'));
  console.log(`Web mode: ${server.url} in ${CHROMIUM_PATH}`);
  const browser = spawn(CHROMIUM_PATH, [...chromiumArgs(), `--user-data-dir=${profile}`, `--app=${server.url}`, '--window-size=1360,860'], { stdio: 'ignore' });
  const shutdown = async (code: number): Promise<never> => {
    await server.close();
    await rm(profile, { recursive: true, force: true });
    process.exit(code);
  };
  browser.on('exit', (code) => void shutdown(code ?? 0));
  process.on('SIGINT', () => browser.kill('SIGTERM'));
  process.on('SIGTERM', () => browser.kill('SIGTERM'));
}

const electron = findElectronBinary();
if (electron.found) {
  await runElectron(electron.path);
} else {
  console.log(`Electron binary not available (${electron.reason}); starting web mode instead.`);
  await runWebMode();
}
