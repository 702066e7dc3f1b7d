// Bundles the Electron main process (ES module) and the preload (CommonJS, as sandboxed
// preloads require) into dist/app with esbuild, which Vite already depends on.
// Usage: node --import ./scripts/register.mjs app/tools/build-main.ts

import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  // Electron 45 ships Node 22.
  target: 'node22',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
};

export async function buildMain(): Promise<void> {
  await Promise.all([
    build({ ...common, entryPoints: ['app/main.ts'], format: 'esm', outfile: 'dist/app/main.js' }),
    build({ ...common, entryPoints: ['app/preload.ts'], format: 'cjs', outfile: 'dist/app/preload.cjs' }),
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  await buildMain();
  console.log(`build-main: wrote dist/app/main.js and dist/app/preload.cjs in ${Math.round(performance.now() - started)} ms`);
}
