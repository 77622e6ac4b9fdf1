import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, deleteTopology, freePort, tempDir, uniquePrefix, waitFor, runServiceMain } from '@terra-transfer/testkit';
import { freshDatabase } from './harness.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const run = (env: Record<string, string>) => runServiceMain(MAIN, env);

describe('transfer-log as a process (dist/main.js)', () => {
  const prefix = uniquePrefix('tlog-proc');
  let dir: { path: string; remove: () => Promise<void> };
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    dir = await tempDir('tlog-proc');
    db = await freshDatabase();
  });
  afterAll(async () => {
    await deleteTopology(prefix);
    await db.drop();
    await dir.remove();
  });

  it('a bad setting exits 78 naming it', async () => {
    const p = run({ HTTP_PORT: String(await freePort()), SITES_FILE: `${dir.path}/none.yaml`, DATABASE_URL: 'mysql://h/db' });
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toMatch(/DATABASE_URL is invalid/);
  });

  it('migrates, starts, and stops cleanly on SIGTERM (the broker drains before PostgreSQL closes)', async () => {
    const sitesFile = `${dir.path}/sites.yaml`;
    await writeFile(sitesFile, stringifySites([testSite({ cacheRoot: `${dir.path}/cache` })]));
    const port = await freePort();
    const p = run({ AMQP_URL, AMQP_PREFIX: prefix, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), SITES_FILE: sitesFile, DATABASE_URL: db.url, READ_TOKEN: '' });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 30_000, 200);
      // READ_TOKEN empty is absent: the read API is open.
      expect((await fetch(`${base}/api/v1/failures`)).status).toBe(200);
      p.proc.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.stderr()).not.toMatch(/"level":"(error|fatal)"/);
    } finally {
      if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
  });
});
