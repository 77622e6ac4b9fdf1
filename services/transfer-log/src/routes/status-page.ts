import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifySchema } from 'fastify';
import type { HttpApp } from '@terra-transfer/platform';

/** The page's files, beside the service (`public/`), served as they are: no build step. */
const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/** Chart.js's UMD build, from node_modules (its package exports do not list it, so it is found beside the package's main file). */
function chartJsFile(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.min.js');
}

/**
 * Self only: the page's script, styles, data and the chart library all come
 * from this service; no inline script or style, no frames, no plugins.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  url: string;
  file: string;
  type: string;
  /** The page and its script change with the service; the pinned chart library does not. */
  cache: string;
}

/**
 * The status page at `/` and `/status`: a static HTML page and an ES module
 * that reads only the service's own API (`/api/v1/*`). A fixed list of files,
 * read once at start: no path from a request ever reaches the file system.
 */
export async function statusPage(app: HttpApp): Promise<void> {
  const assets: Asset[] = [
    { url: '/', file: join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8', cache: 'no-cache' },
    { url: '/status', file: join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8', cache: 'no-cache' },
    { url: '/assets/status.js', file: join(PUBLIC_DIR, 'status.js'), type: 'text/javascript; charset=utf-8', cache: 'no-cache' },
    { url: '/assets/status.css', file: join(PUBLIC_DIR, 'status.css'), type: 'text/css; charset=utf-8', cache: 'no-cache' },
    { url: '/assets/chart.umd.min.js', file: chartJsFile(), type: 'text/javascript; charset=utf-8', cache: 'public, max-age=86400' },
  ];
  // Not part of the API document (`hide` is @fastify/swagger's, which the platform registers).
  const hidden = { hide: true } as FastifySchema;
  for (const a of assets) {
    const body = await readFile(a.file);
    app.get(a.url, { schema: hidden }, async (_req, reply) =>
      reply
        .header('content-type', a.type)
        .header('cache-control', a.cache)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(body),
    );
  }
}
