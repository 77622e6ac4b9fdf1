import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEMNATEC_DB_URL_ENV, TestScanalyzer, lemnatecSite } from '@terra-transfer/stack';
import { stringifySites } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor, runServiceMain } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const run = (env: Record<string, string>) => runServiceMain(MAIN, env);

describe('lemnatec-source as a process (dist/main.js)', () => {
  const prefix = uniquePrefix('lt-proc');
  const base = prefix.replace(/[^a-z0-9_]/g, '_');
  let dir: { path: string; remove: () => Promise<void> };
  let lt: TestScanalyzer | undefined;
  let sitesFile: string;
  const env = async () => ({ AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(await freePort()), SITES_FILE: sitesFile, SITE: 'danforth' });

  beforeAll(async () => {
    dir = await tempDir('lt-proc');
    sitesFile = join(dir.path, 'sites.yaml');
    await writeFile(sitesFile, stringifySites([lemnatecSite(dir.path, { name: 'danforth', index: 1, blobRoot: join(dir.path, 'blobs') })]));
  });
  afterAll(async () => {
    await lt?.drop();
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await dir.remove();
  });

  it('the database URL the site file names is checked at start: missing or not PostgreSQL exits 78 naming the variable, never echoing it', async () => {
    const missing = run(await env());
    expect(await missing.exited).toBe(78);
    expect(missing.stderr()).toMatch(new RegExp(`${LEMNATEC_DB_URL_ENV} is required`));
    const bad = run({ ...(await env()), [LEMNATEC_DB_URL_ENV]: 'mysql://u:hunter2@h/db' });
    expect(await bad.exited).toBe(78);
    expect(bad.stderr()).toMatch(new RegExp(`${LEMNATEC_DB_URL_ENV} is invalid`));
    expect(bad.stderr()).not.toContain('hunter2');
  });

  it('starts against its database and stops cleanly on SIGTERM', async () => {
    lt = await TestScanalyzer.create({ systemDb: `${base}_sys`, blobRoot: join(dir.path, 'blobs'), small: true });
    const e = await env();
    const p = run({ ...e, [LEMNATEC_DB_URL_ENV]: lt.systemUrl });
    try {
      await waitFor('readyz', async () => (await fetch(`http://127.0.0.1:${e.HTTP_PORT}/readyz`).catch(() => null))?.status === 200, 30_000, 200);
      p.proc.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.stderr()).not.toMatch(/"level":"(error|fatal)"/);
    } finally {
      if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    }
  });
});
