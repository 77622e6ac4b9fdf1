import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor, runServiceMain } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const run = (env: Record<string, string>) => runServiceMain(MAIN, env);

describe('directory-source as a process (dist/main.js)', () => {
  const prefix = uniquePrefix('dirsrc-proc');
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('dirsrc-proc');
  });
  afterAll(async () => {
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await dir.remove();
  });

  it('a bad setting exits 78 naming it, before anything opens', async () => {
    const p = run({ HTTP_PORT: String(await freePort()), SITES_FILE: 'relative.yaml', AMQP_PREFIX: prefix });
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toMatch(/SITES_FILE must be an absolute path/);
    expect(p.stderr()).toMatch(/SITE is required/);
  });

  it('waits for its site file (probes answering), starts, and stops cleanly on SIGTERM', async () => {
    const root = `${dir.path}/root`;
    await mkdir(root, { recursive: true });
    const sitesFile = `${dir.path}/sites.yaml`;
    const port = await freePort();
    const p = run({ AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), SITES_FILE: sitesFile, SITE: 'ua-mac', WATCH: 'false' });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor('waiting probes', async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 503, 20_000, 100);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await writeFile(sitesFile, stringifySites([{ ...testSite({ cacheRoot: root }), source: { kind: 'directory', root, settleSeconds: 1 } }]));
      await waitFor('readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 30_000, 200);
      p.proc.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.stderr()).toMatch(/SITES_FILE .* does not exist yet/);
      expect(p.stderr()).not.toMatch(/"level":"(error|fatal)"/);
    } finally {
      if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
  });
});
