/**
 * A clock step on the FTP host, against the real RabbitMQ. The log's times
 * jump back by an hour in the middle of a file and across a rotation (a long
 * session keeps writing into the rotated file), and the host's wall clock
 * (Date.now, which the tailer runs under too) steps back by an hour, later
 * forward. Every completed upload must be sent exactly once, the cursor must
 * reach the end, a restart must send nothing again, and the rotated file must
 * be let go after the grace period as measured, not an hour late (step back)
 * or at once while its session still writes (step forward).
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jest } from '@jest/globals';
import { decode } from '@terra-transfer/contracts';
import { AMQP_URL, deleteTopology, drainQueue, tempDir, uniquePrefix } from '@terra-transfer/testkit';
import { metric, startTailer, type TestTailer } from './helpers/tailer.js';

jest.setTimeout(60_000);

const D = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const HOUR = 3_600_000;
/** A line at `wall` (ms of the day, as the host's clock showed it). */
const xfer = (n: number, wall: number) => {
  const t = new Date(Date.UTC(2016, 7, 2) + wall).toISOString().slice(11, 19);
  return `Tue Aug  2 ${t} 2016 1 ::ffff:150.135.84.81 ${n} /${D}/f${n}.bin b _ i r lemnatec ftp 0 * c\n`;
};

/** Waits on the monotonic clock: the test moves Date.now, which testkit's waitFor reads. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let tmp: { path: string; remove: () => Promise<void> };
const prefix = uniquePrefix('tailer-clock');
let t: TestTailer | undefined;
let offset = 0;
const realNow = Date.now.bind(Date);

beforeEach(async () => {
  tmp = await tempDir('tailer-clock');
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
});
afterEach(async () => {
  offset = 0;
  jest.restoreAllMocks();
  await t?.stop();
  t = undefined;
  await deleteTopology(prefix);
  await tmp.remove();
});

it('a clock step back (and forward) mid-file and across a rotation: no line lost or sent twice, nothing held an hour', async () => {
  const cache = join(tmp.path, 'cache');
  mkdirSync(join(cache, D), { recursive: true });
  for (let n = 0; n < 60; n++) writeFileSync(join(cache, D, `f${n}.bin`), Buffer.alloc(n));
  const log = join(tmp.path, 'xferlog');
  const ROTATE_WAIT = 1_500;
  const cfg = { prefix, logPath: log, cacheRoot: cache, stateDir: join(tmp.path, 'state'), whitelist: ['MovingSensor'], rotateWaitMs: ROTATE_WAIT };
  const sent = () => metric(t!.registry, 'terra_transfer_xferlog_events_published_total');
  const released = () => t!.tailer.snapshot().files.filter((f) => f.retired).length;

  // 10:00 … 10:09, then the host's clock steps back an hour: 09:10 … 09:19, in the same file.
  let wall = 10 * HOUR;
  for (let n = 0; n < 10; n++) appendFileSync(log, xfer(n, (wall += 60_000)));
  wall -= HOUR;
  for (let n = 10; n < 20; n++) appendFileSync(log, xfer(n, (wall += 60_000)));
  t = await startTailer(cfg);
  await until('20 sent', async () => (await sent()) === 20);

  // A long session holds the log open; logrotate renames it and creates a new one.
  const session = openSync(log, 'a');
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
  t.tailer.poke();
  await until('rotation seen', async () => (await metric(t!.registry, 'terra_transfer_xferlog_rotations_total', { kind: 'rename' })) === 1);
  writeSync(session, xfer(20, (wall += 1_000))); // into the rotated file
  t.tailer.poke();
  await until('21 sent', async () => (await sent()) === 21);
  // Then the host's wall clock steps back an hour (the tailer runs on it), and the log's times with it.
  offset = -HOUR;
  wall -= HOUR;
  for (let n = 21; n < 26; n++) appendFileSync(log, xfer(n, (wall += 1_000)));
  t.tailer.poke();
  await until('26 sent', async () => (await sent()) === 26);
  // Let go after the grace period, not an hour later.
  const heldMs = await until('rotated file released', () => released() === 1, ROTATE_WAIT + 5_000);
  expect(heldMs).toBeLessThan(ROTATE_WAIT + 4_000);

  // Second rotation; now the clock steps forward two hours while the long session is still writing.
  closeSync(session);
  const session2 = openSync(log, 'a');
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
  t.tailer.poke();
  await until('second rotation seen', async () => (await metric(t!.registry, 'terra_transfer_xferlog_rotations_total', { kind: 'rename' })) === 2);
  offset = HOUR;
  for (let n = 26; n < 30; n++) appendFileSync(log, xfer(n, (wall += 1_000)));
  await new Promise((r) => setTimeout(r, ROTATE_WAIT / 3));
  writeSync(session2, xfer(30, (wall += 1_000))); // within the grace period: must still be read
  closeSync(session2);
  wall -= HOUR; // and the log jumps back once more, in the new file
  for (let n = 31; n < 35; n++) appendFileSync(log, xfer(n, (wall += 1_000)));
  t.tailer.poke();
  await until('35 sent', async () => (await sent()) === 35);
  await until('cursor at the end of the log', async () => (await t!.store.load())?.files.some((f) => !f.retired && f.offset === readFileSync(log).length) ?? false);

  // A restart sends nothing again, and new lines still go out.
  await t.stop();
  t = await startTailer(cfg);
  appendFileSync(log, xfer(35, wall + 1_000));
  t.tailer.poke();
  await until('36th sent', async () => (await sent()) === 1);
  await new Promise((r) => setTimeout(r, 300));
  const paths = (await drainQueue(AMQP_URL, t.uploadsQueue)).map((m) => decode('file.uploaded', m.content).data.path);
  expect(paths.map((p) => Number(/f(\d+)\.bin$/.exec(p)![1])).sort((a, b) => a - b)).toEqual(Array.from({ length: 36 }, (_, i) => i));
  expect(new Set(paths).size).toBe(36);
});
