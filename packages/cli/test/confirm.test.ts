/**
 * `failed --resend` of more than 1,000 files asks first (and, without a
 * terminal to ask on, declines unless --yes). The cleaner here is a stand-in
 * HTTP server answering its failed-files API with 1,001 files, so the
 * confirmation is tested without giving up a thousand real transfers; the
 * real endpoints are exercised in cli-e2e.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { tempDir } from '@terra-transfer/testkit';
import { expectOneLineError, terra } from './run.js';

let server: Server;
let port = 0;
const posts: string[] = [];
let dir: { path: string; remove: () => Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  const items = Array.from({ length: 1001 }, (_, i) => ({ path: `/cache/MovingSensor/stereoTop/f${i}`, size: 1, mtimeMs: 1, uploadId: 'u', reason: 'EXPIRED', detail: '', attempts: 3, giveUps: 1, lastTaskId: null, failedAt: '2026-11-24T00:00:00Z', nextResendAt: '2026-11-24T01:00:00Z' }));
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET' && url.pathname === '/api/v1/files/failed') {
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      res.end(JSON.stringify({ total: items.length, offset, nextOffset: offset + limit < items.length ? offset + limit : null, items: items.slice(offset, offset + limit) }));
    } else if (req.method === 'POST' && url.pathname === '/api/v1/files/failed/resend') {
      posts.push(url.pathname);
      res.end(JSON.stringify({ requested: items.length }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  dir = await tempDir('cli-confirm');
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites([testSite({ name: 'ua-mac', cacheRoot: '/cache' })]));
  env = { SITES_FILE: sitesFile, API_TOKEN: 't', SERVICE_URLS: `cleaner@ua-mac=http://127.0.0.1:${port}` };
});
afterAll(async () => {
  server?.close();
  await dir?.remove();
});

it('failed --resend of 1,001 files declines without --yes (no terminal to ask on) and sends with it', async () => {
  const listed = await terra(['failed', '--site', 'ua-mac', '--json'], env);
  expect(listed.code).toBe(0);
  expect(listed.json()[0].items).toHaveLength(1001);
  expectOneLineError(await terra(['failed', '--site', 'ua-mac', '--resend'], env), 6, /Send 1001 failed files again now\? .*pass --yes/);
  expect(posts).toEqual([]);
  const yes = await terra(['failed', '--site', 'ua-mac', '--resend', '--yes', '--json'], env);
  expect(yes.code).toBe(0);
  expect(yes.json()).toEqual([{ site: 'ua-mac', requested: 1001 }]);
  expect(posts).toHaveLength(1);
});

it('the bash completion completes commands, subcommands and options', async () => {
  const script = (await terra(['completion', 'bash'])).stdout;
  const complete = async (words: string[]) => {
    const { execFile } = await import('node:child_process');
    const line = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _terra_complete; echo "\${COMPREPLY[*]}"`;
    return new Promise<string>((resolve, reject) => execFile('bash', ['-c', line], (err, out) => (err ? reject(err) : resolve(out.trim()))));
  };
  expect(await complete(['terra', 'dl'])).toBe('dlq');
  expect((await complete(['terra', 'dlq', ''])).split(' ')).toEqual(['list', 'show', 'redrive', 'purge', '--help']);
  expect((await complete(['terra', 'dlq', 'redrive', '--f'])).split(' ')).toEqual(['--filter']);
  expect((await complete(['terra', 'replay', '--site', 'ua-mac', '--d'])).split(' ')).toEqual(['--dry-run']);
});
