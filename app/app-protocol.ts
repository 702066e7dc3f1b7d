// Serves the built renderer from `app://mamba/` instead of file://. A standard, secure
// scheme gives the page a real origin, so module workers, fetch and WebGPU (which needs a
// secure context) work, and every response carries the Content-Security-Policy header.

import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';

import { CONTENT_SECURITY_POLICY } from './csp';
import { APP_HOST, APP_SCHEME } from './ipc-contract';
import { contentTypeFor, resolveStaticPath } from './static-files';

/** Must run before the app's `ready` event. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
    },
  ]);
}

/** Must run after `ready`; `rendererRoot` is the folder with the built index.html. */
export function handleAppProtocol(rendererRoot: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return new Response('Not found', { status: 404 });

    const filePath = resolveStaticPath(rendererRoot, url.pathname);
    if (!filePath) return new Response('Bad request', { status: 400 });

    try {
      const body = await readFile(filePath);
      return new Response(body, {
        status: 200,
        headers: {
          'Content-Type': contentTypeFor(filePath),
          'Content-Security-Policy': CONTENT_SECURITY_POLICY,
          'X-Content-Type-Options': 'nosniff',
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Response('Not found', { status: 404 });
      console.error(`[app-protocol] failed to read ${filePath}:`, error);
      return new Response('Internal error', { status: 500 });
    }
  });
}
