/**
 * Two lemnatec-sources of one site (same Scanalyzer database, same staging
 * folder, same Redis prefix) with LEADER_LOCK: only the holder of the site's
 * lease polls, exports and publishes; the other is live, not ready, and
 * reads neither the database nor the staging area. When the leader dies
 * (kill -9) the standby takes over within LEADER_LEASE_MS and goes on from
 * the state in Redis: every snapshot's files published once, none by both.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topology } from '@terra-transfer/contracts';
import { LEMNATEC_DB_URL_ENV, TestScanalyzer, lemnatecSite } from '@terra-transfer/stack';
import { stringifySites } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, freePort, queueDepth, runServiceMain, tempDir, uniquePrefix, waitFor, serviceProbe, killHard, uploadIdCounts, waitForStandby, type ServiceProcess } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SITE = 'danforth';
const LEASE_MS = 3_000;
/** Files of one snapshot: metadata.json and ten PNGs. */
const PER_SNAPSHOT = 11;

const prefix = uniquePrefix('lt-leader');
const base = prefix.replace(/[^a-z0-9_]/g, '_');
const procs: ServiceProcess[] = [];
let dir: { path: string; remove: () => Promise<void> } | undefined;
let lt: TestScanalyzer | undefined;

afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await lt?.drop();
  await deleteTopology(prefix);
  await deleteKeys(prefix);
  await dir?.remove();
});


it('only the lease holder polls, exports and publishes; the standby takes over after a kill -9 and no snapshot is sent twice', async () => {
  dir = await tempDir('lt-leader');
  const blobRoot = join(dir.path, 'blobs');
  lt = await TestScanalyzer.create({ systemDb: `${base}_sys`, blobRoot, small: true });
  const db = `${base}_e1`;
  await lt.addExperiment(db);
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites([lemnatecSite(dir.path, { name: SITE, index: 1, blobRoot, experiments: [db] })]));
  const env = {
    AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_HOST: '127.0.0.1', SITES_FILE: sitesFile, SITE, [LEMNATEC_DB_URL_ENV]: lt.systemUrl,
    POLL_MS: '200', CLEAN_INTERVAL_MS: '500', BLOB_RETRY_MS: '300', PNG_COMPRESSION: '1', LEADER_LOCK: 'true', LEADER_LEASE_MS: String(LEASE_MS),
  };
  const start = async () => {
    const port = await freePort();
    const p = runServiceMain(MAIN, { ...env, HTTP_PORT: String(port) });
    procs.push(p);
    return { p, ...serviceProbe(port) };
  };
  const queue = topology(prefix, [SITE]).queue({ key: 'batcherUploads', site: SITE });
  const sent = 'terra_transfer_lemnatec_files_sent_total';
  const published = 'terra_transfer_lemnatec_snapshots_total{site="danforth",outcome="published"}';

  const a = await start();
  await waitFor('the first leads (ready)', async () => (await a.ready()).status === 200, 30_000, 100);
  expect((await a.ready()).checks).toMatchObject({ leader: true, database: true });
  expect(await a.metric('terra_transfer_leader_lease_held')).toBe(1);

  // The second: live, connected to the broker and Redis, standing by.
  const b = await start();
  await waitForStandby(b);
  expect(await b.health()).toBe(200);
  expect((await b.ready()).status).toBe(503);
  expect(await b.metric('terra_transfer_leader_lease_held')).toBe(0);

  for (let i = 0; i < 3; i++) await lt.snapshot(db);
  await waitFor('the leader published 3 snapshots', async () => (await a.metric(published)) === 3, 60_000, 200);
  expect(await a.metric(sent)).toBe(3 * PER_SNAPSHOT);
  // Several polls later the standby has read nothing: no database, no staging area, no snapshot, no file.
  await new Promise((r) => setTimeout(r, 1_500));
  for (const m of [sent, 'terra_transfer_lemnatec_snapshots_total', 'terra_transfer_lemnatec_database_up', 'terra_transfer_lemnatec_staging_bytes', 'terra_transfer_lemnatec_poll_errors_total']) {
    expect([m, await b.metric(m)]).toEqual([m, 0]);
  }
  expect((await b.ready()).checks).toMatchObject({ leader: false, database: false });

  // The leader dies without handing the lease over; new snapshots are taken meanwhile.
  const killedAt = await killHard(a.p);
  for (let i = 0; i < 3; i++) await lt.snapshot(db);
  await waitFor('the standby takes over (ready)', async () => (await b.ready()).status === 200, 20_000, 100);
  const takeover = Date.now() - killedAt;
  // Within the lease, plus the standby's retry interval (a third of it) and its start-up (databases read and checked) on a busy machine.
  expect(takeover).toBeLessThan(LEASE_MS + LEASE_MS / 3 + 3_000);
  expect(await b.metric('terra_transfer_leader_lease_held')).toBe(1);
  await waitFor('the new leader published the 3 new snapshots', async () => (await b.metric(published)) === 3, 60_000, 200);
  await waitFor('66 files on the queue', async () => (await queueDepth(AMQP_URL, queue)) >= 6 * PER_SNAPSHOT, 10_000, 100);
  // A few more polls (the overlap window looks at the first three again): nothing comes again.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(await b.metric(sent)).toBe(3 * PER_SNAPSHOT);

  const perId = await uploadIdCounts(AMQP_URL, queue);
  expect([...perId.values()].reduce((a, n) => a + n, 0)).toBe(6 * PER_SNAPSHOT);
  expect(perId.size).toBe(6 * PER_SNAPSHOT);
  expect([...perId.values()].every((n) => n === 1)).toBe(true);
  // Six snapshots (lt:<site>:<db>:<snapshot id>:<file>), each whole.
  const perSnapshot = new Map<string, number>();
  for (const id of perId.keys()) perSnapshot.set(id.split(':')[3]!, (perSnapshot.get(id.split(':')[3]!) ?? 0) + 1);
  expect([...perSnapshot.values()]).toEqual(Array(6).fill(PER_SNAPSHOT));
  b.p.proc.kill('SIGTERM');
  expect(await b.p.exited).toBe(0);
}, 180_000);
