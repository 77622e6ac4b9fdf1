/**
 * Two directory-sources of one site (same folder, same Redis prefix) with
 * LEADER_LOCK: only the holder of the site's lease scans and publishes; the
 * other is live, not ready, and looks at nothing. When the leader dies
 * (kill -9) the standby takes over within LEADER_LEASE_MS and goes on from
 * the sent record in Redis: every file published once, none by both.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topology } from '@terra-transfer/contracts';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, freePort, queueDepth, runServiceMain, tempDir, uniquePrefix, waitFor, serviceProbe, killHard, uploadIdCounts, waitForStandby, type ServiceProcess } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SITE = 'kstate';
const LEASE_MS = 3_000;

const prefix = uniquePrefix('dirsrc-leader');
const procs: ServiceProcess[] = [];
let dir: { path: string; remove: () => Promise<void> } | undefined;

afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await deleteTopology(prefix);
  await deleteKeys(prefix);
  await dir?.remove();
});


async function files(folder: string, n: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(join(folder, `f${i}.bin`), `${folder} ${i}`);
}

it('only the lease holder scans and publishes; the standby takes over after a kill -9 and no file is sent twice', async () => {
  dir = await tempDir('dirsrc-leader');
  const root = join(dir.path, 'root');
  await mkdir(join(root, 'runs'), { recursive: true });
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites([{ ...testSite({ name: SITE, cacheRoot: root, whitelist: ['runs'] }), source: { kind: 'directory', root, settleSeconds: 1 } }]));
  const env = {
    AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_HOST: '127.0.0.1', SITES_FILE: sitesFile, SITE,
    WATCH: 'false', FULL_SCAN_INTERVAL_SECONDS: '1', TICK_MS: '100', LEADER_LOCK: 'true', LEADER_LEASE_MS: String(LEASE_MS),
  };
  const start = async () => {
    const port = await freePort();
    const p = runServiceMain(MAIN, { ...env, HTTP_PORT: String(port) });
    procs.push(p);
    return { p, ...serviceProbe(port) };
  };
  const queue = topology(prefix, [SITE]).queue({ key: 'batcherUploads', site: SITE });
  const sent = 'terra_transfer_directory_files_sent_total';

  const a = await start();
  await waitFor('the first leads (ready)', async () => (await a.ready()).status === 200, 30_000, 100);
  expect((await a.ready()).checks).toMatchObject({ leader: true });
  expect(await a.metric('terra_transfer_leader_lease_held')).toBe(1);

  // The second: live, connected, standing by.
  const b = await start();
  await waitForStandby(b);
  expect(await b.health()).toBe(200);
  expect((await b.ready()).status).toBe(503);
  expect(await b.metric('terra_transfer_leader_lease_held')).toBe(0);

  await files(join(root, 'runs', 'one'), 100);
  await waitFor('the leader published and recorded 100', async () => (await a.metric(sent)) === 100, 30_000, 200);
  // Several full scans later the standby has looked at nothing and sent nothing.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(await b.metric('terra_transfer_directory_files_seen_total')).toBe(0);
  expect(await b.metric(sent)).toBe(0);
  expect((await b.ready()).checks['leader']).toBe(false);

  // The leader dies without handing the lease over; new files arrive meanwhile.
  const killedAt = await killHard(a.p);
  await files(join(root, 'runs', 'two'), 100);
  await waitFor('the standby takes over (ready)', async () => (await b.ready()).status === 200, 20_000, 100);
  const takeover = Date.now() - killedAt;
  // Within the lease, plus the standby's retry interval (a third of it) and a little for start-up on a busy machine.
  expect(takeover).toBeLessThan(LEASE_MS + LEASE_MS / 3 + 2_000);
  expect(await b.metric('terra_transfer_leader_lease_held')).toBe(1);
  await waitFor('the new leader published the 100 new files', async () => (await b.metric(sent)) === 100, 30_000, 200);
  await waitFor('200 on the queue', async () => (await queueDepth(AMQP_URL, queue)) >= 200, 10_000, 100);
  // A few more scans: nothing of the first 100 comes again.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(await b.metric(sent)).toBe(100);

  const perId = await uploadIdCounts(AMQP_URL, queue);
  expect([...perId.values()].reduce((a, n) => a + n, 0)).toBe(200);
  expect(perId.size).toBe(200);
  expect([...perId.values()].every((n) => n === 1)).toBe(true);
  b.p.proc.kill('SIGTERM');
  expect(await b.p.exited).toBe(0);
}, 120_000);
