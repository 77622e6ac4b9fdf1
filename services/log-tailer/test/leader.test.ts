/**
 * Two log-tailers of one site (the second a standby on the same STATE_DIR):
 * with LEADER_LOCK only the holder of the site's lease tails. When it dies
 * (kill -9) the standby takes over within LEADER_LEASE_MS and goes on from
 * the cursor: every upload published, none by both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { topology } from '@terra-transfer/contracts';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { REDIS_URL, deleteKeys, queueDepth, startPrivateRabbit, tempDir, uniquePrefix, waitFor, type PrivateRabbit } from '@terra-transfer/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const D = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const line = (i: number) => `Tue Aug  2 09:43:00 2016 1 192.0.2.7 0 /${D}/f${i}.bin b _ i r lemnatec ftp 0 * c\n`;

const prefix = uniquePrefix('tailer-leader');
const procs: ChildProcess[] = [];
let tmp: { path: string; remove: () => Promise<void> } | undefined;
let rabbit: PrivateRabbit | undefined;

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await rabbit?.stop();
  await deleteKeys(prefix);
  await tmp?.remove();
});

it('only the lease holder tails; the standby takes over after a kill -9 and nothing is lost or sent by both', async () => {
  tmp = await tempDir('tailer-leader');
  // A broker of its own (stopped afterwards, with everything declared on it).
  rabbit = await startPrivateRabbit();
  const AMQP_URL = rabbit.url;
  const cache = join(tmp.path, 'cache');
  const log = join(tmp.path, 'xferlog');
  mkdirSync(join(cache, D), { recursive: true });
  for (let i = 0; i < 400; i++) writeFileSync(join(cache, D, `f${i}.bin`), '');
  writeFileSync(log, '');
  const sitesFile = join(tmp.path, 'sites.yaml');
  writeFileSync(sitesFile, stringifySites([testSite({ cacheRoot: cache, xferlog: log })]));
  const env = {
    ...process.env, HTTP_PORT: '0', AMQP_URL, AMQP_PREFIX: prefix, REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'info',
    SITES_FILE: sitesFile, SITE: 'ua-mac', STATE_DIR: join(tmp.path, 'state'), POLL_INTERVAL_MS: '50', CHECKPOINT_INTERVAL_MS: '100',
    LEADER_LOCK: 'true', LEADER_LEASE_MS: '3000',
  };
  const outputs: string[] = [];
  const start = () => {
    const p = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const i = outputs.push('') - 1;
    p.stdout!.on('data', (d: Buffer) => (outputs[i] += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (outputs[i] += d.toString()));
    procs.push(p);
    return i;
  };
  const queue = topology(prefix, ['ua-mac']).queue({ key: 'batcherUploads', site: 'ua-mac' });

  const a = start();
  await waitFor('the first tailer leads', () => outputs[a]!.includes('leader lease taken'), 30_000);
  const b = start();
  await waitFor('the second stands by', () => outputs[b]!.includes('standing by'), 30_000);
  for (let i = 0; i < 200; i++) appendFileSync(log, line(i));
  await waitFor('200 published', async () => (await queueDepth(AMQP_URL, queue)) >= 200, 30_000);
  expect(outputs[b]).not.toContain('leader lease taken');

  // The leader dies; let its last checkpoint settle first, as its cursor is what the standby goes on from.
  await new Promise((r) => setTimeout(r, 500));
  const leaderProc = procs[0]!;
  const exited = new Promise((r) => leaderProc.once('exit', r));
  leaderProc.kill('SIGKILL');
  await exited;
  for (let i = 200; i < 400; i++) appendFileSync(log, line(i));
  await waitFor('the standby takes over', () => outputs[b]!.includes('leader lease taken'), 20_000);
  await waitFor('400 published', async () => (await queueDepth(AMQP_URL, queue)) >= 400, 30_000);
  await new Promise((r) => setTimeout(r, 1_000));

  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const paths: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    paths.push((JSON.parse(m.content.toString()) as { data: { path: string } }).data.path);
  }
  await conn.close();
  expect(new Set(paths).size).toBe(400);
  expect(paths.length).toBe(400);
}, 120_000);
