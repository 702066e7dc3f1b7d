// Vite build of the renderer (renderer/index.html) into dist/web, used by the web mode,
// the Electron app (served from app://mamba/) and the end-to-end tests.

import react from '@vitejs/plugin-react';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// The extension is explicit because Vite's native config loader needs it. tsconfig.json
// does not type-check this file, so TypeScript's rule against .ts imports does not apply.
import { CONTENT_SECURITY_POLICY_META } from './app/csp.ts';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Loads `*.wgsl` files as modules whose default export is the shader text, as
 * scripts/wgsl-loader.mjs does in Node, so the engine imports shaders the same way in
 * both. It runs for the page and for the worker bundle.
 */
function wgslLoader(): Plugin {
  return {
    name: 'wgsl-loader',
    enforce: 'pre',
    async load(id) {
      const path = id.split('?')[0] ?? id;
      if (!path.endsWith('.wgsl')) return null;
      this.addWatchFile(path);
      return `export default ${JSON.stringify(await readFile(path, 'utf8'))};`;
    },
  };
}

/** Adds the Content-Security-Policy <meta> tag to built pages (not to the dev server, whose HMR needs inline scripts). */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  root: `${root}renderer`,
  // Relative asset URLs, so the build works from app://mamba/, any http path, or a folder.
  base: './',
  plugins: [wgslLoader(), react(), contentSecurityPolicy()],
  worker: {
    format: 'es',
    plugins: () => [wgslLoader()],
  },
  build: {
    outDir: `${root}dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The engine and decoders are large by design; warn only well above their size.
    chunkSizeWarningLimit: 2048,
  },
  server: {
    host: '127.0.0.1',
  },
  preview: {
    host: '127.0.0.1',
  },
});
