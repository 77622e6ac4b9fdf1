import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

// A site file mounted after the container started (a ConfigMap, a volume): the service waits, alive and
// not ready, and starts on its own once the file is there: no exit, no restart loop (issue 21, bad input).
it('a service started before its site file exists waits (healthz 200, readyz 503) and starts once it appears', async () => {
  const prefix = uniquePrefix('late-sites');
  const dir = await tempDir('late-sites');
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let stderr = '';
  try {
    const root = `${dir.path}/cache`;
    await mkdir(`${root}/MovingSensor/stereoTop`, { recursive: true });
    const sitesFile = `${dir.path}/sites.yaml`;
    proc = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env, AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1',
        SITES_FILE: sitesFile, SITE: 'ua-mac', API_TOKEN: 'tok', LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const base = `http://127.0.0.1:${port}`;
    const status = (path: string) => fetch(`${base}${path}`).then((r) => r.status, () => 0);
    await waitFor('the waiting probes', async () => (await status('/healthz')) === 200, 30_000, 100);
    expect(await status('/readyz')).toBe(503);
    expect(stderr).toContain(`cleaner: SITES_FILE ${sitesFile} does not exist yet: waiting for it`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(proc.exitCode).toBeNull();

    await writeFile(sitesFile, stringifySites([testSite({ cacheRoot: root })]));
    await waitFor('the cleaner ready', async () => (await status('/readyz')) === 200, 60_000, 200);
    // The real service answers now: its API, not the waiting server's 404.
    expect(await status('/api/v1/sweeps/latest')).not.toBe(404);
  } finally {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await dir.remove();
  }
}, 120_000);
