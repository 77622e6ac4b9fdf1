import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createEvent } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, freePort, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { putFile } from './harness.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const DAY = 86_400_000;

describe('cleaner as a process (dist/main.js)', () => {
  let proc: ChildProcess | undefined;
  const prefix = uniquePrefix('cleaner-proc');
  let dir: { path: string; remove: () => Promise<void> };
  let amqp: AmqpClient;
  let port: number;
  let stderr = '';

  beforeAll(async () => {
    dir = await tempDir('cleaner-proc');
    await mkdir(`${dir.path}/cache/MovingSensor/stereoTop`, { recursive: true });
    port = await freePort();
    amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'cleaner-proc-test', logger: testLogger(), registry: createRegistry(), sites: ['ua-mac'] });
    await amqp.start();
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await amqp.close(1000);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await dir.remove();
  });

  it('starts, sweeps on its schedule at once (never swept before), deletes, serves metrics, and stops cleanly on SIGTERM', async () => {
    const root = `${dir.path}/cache`;
    const orphan = await putFile(`${root}/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/orphan.bin`, 'never logged', Date.now() - 3 * DAY);
    const done = await putFile(`${root}/MovingSensor/stereoTop/2016-08-03/2016-08-03__09-42-51-195/done.bin`, 'transferred', Date.now() - 3600_000);
    const sitesFile = `${dir.path}/sites.yaml`;
    await writeFile(sitesFile, stringifySites([testSite({ cacheRoot: root, sweep: { intervalMinutes: 1440 } })]));
    proc = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1',
        SITES_FILE: sitesFile, SITE: 'ua-mac', API_TOKEN: 'tok', LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor('readyz', async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 30_000, 200);

    // The scheduled sweep ran at start (no previous run in Redis) and sent the orphan.
    const latest = await waitFor('scheduled sweep', async () => {
      const r = (await (await fetch(`${base}/api/v1/sweeps/latest`)).json()) as { state: string; trigger: string; counts: { sent: number } };
      return r.state === 'succeeded' ? r : undefined;
    }, 30_000, 200);
    expect(latest).toMatchObject({ trigger: 'schedule', counts: { sent: 1 } });
    const uploads = await drainQueue(AMQP_URL, amqp.topology.queue({ key: 'batcherUploads', site: 'ua-mac' }));
    expect(uploads.map((m) => JSON.parse(m.content.toString()).data.path)).toEqual([`${root}/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/orphan.bin`]);
    const redis = new Redis(REDIS_URL);
    expect(Number(await redis.get(`${prefix}:cleaner:ua-mac:sweep:last-scheduled-start`))).toBeGreaterThan(Date.now() - 60_000);
    redis.disconnect();
    expect(orphan.size).toBeGreaterThan(0);

    // A verified transfer is deleted by the running service.
    const path = `${root}/MovingSensor/stereoTop/2016-08-03/2016-08-03__09-42-51-195/done.bin`;
    await amqp.publish(createEvent('file.transferred', 'proc-1', {
      site: 'ua-mac', taskId: 'task-proc', chunk: 0, files: [{
        sensor: 'stereoTop', path, sourcePath: path, destinationPath: `/dest${path}`, size: done.size, mtimeMs: done.mtimeMs,
        checksum: done.md5, checksumAlgorithm: 'MD5', uploadId: 'xferlog:p:1', attempt: 1,
      }],
    }));
    await waitFor('deleted', () => !existsSync(path), 20_000, 100);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/terra_transfer_cleaner_deletions_total\{outcome="deleted"\} 1/);
    expect(metrics).toMatch(/terra_transfer_cache_fs_free_bytes [1-9]/);
    expect(metrics).toMatch(/terra_transfer_sweep_files_total\{verdict="sent_no_record"\} 1/);
    expect(metrics).toMatch(/terra_transfer_sweep_last_success_timestamp_seconds [1-9]/);

    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":"(error|fatal)"/);
  });
});
