// Static HTTP server for the web build (dist/web) on 127.0.0.1, with the same
// Content-Security-Policy header as the Electron app. Used by `npm start` in web mode and
// by the end-to-end tests. It serves GET and HEAD only and never lists folders.
//
// Usage: node --import ./scripts/register.mjs app/tools/serve-web.ts [--port N]
//   (port 0, the default, picks a free port; the URL is printed on stdout)

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

import { CONTENT_SECURITY_POLICY } from '../csp';
import { contentTypeFor, resolveStaticPath } from '../static-files';

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export async function startStaticServer(options: { root?: string; port?: number; host?: string } = {}): Promise<StaticServer> {
  const root = options.root ?? DEFAULT_WEB_ROOT;
  const host = options.host ?? '127.0.0.1';

  const server: Server = createServer(async (request, response) => {
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const filePath = resolveStaticPath(root, new URL(request.url ?? '/', 'http://localhost').pathname);
    if (!filePath) {
      response.writeHead(400).end('Bad request');
      return;
    }
    try {
      const info = await stat(filePath);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      response.writeHead(200, {
        'Content-Type': contentTypeFor(filePath),
        'Content-Length': info.size,
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      });
      if (method === 'HEAD') response.end();
      else createReadStream(filePath).pipe(response);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      if (!missing) console.error(`[serve-web] failed to serve ${filePath}:`, error);
      response.writeHead(missing ? 404 : 500).end(missing ? 'Not found' : 'Internal error');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const portIndex = process.argv.indexOf('--port');
  const port = portIndex > 0 ? Number(process.argv[portIndex + 1]) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve-web: --port must be an integer from 0 to 65535, got ${process.argv[portIndex + 1]}`);
    process.exit(2);
  }
  const server = await startStaticServer({ port });
  console.log(server.url);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
