/**
 * Crash test: the tailer runs as a real process (dist/main.js, so build
 * first) and is killed with SIGKILL at random moments while a writer appends
 * xferlog lines, keeps a "long session" descriptor on rotated files, and
 * rotates (rename + create with delayed gzip, and copytruncate). After a last
 * restart:
 *   - every completed whitelisted upload is published at least once;
 *   - a line is published more than once only if it was not covered by the
 *     cursor on disk at some kill (i.e. not yet confirmed and checkpointed),
 *     and at most once more per such kill.
 */
import { stringifySites, testSite } from '@terra-transfer/sites';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { decode, topology } from '@terra-transfer/contracts';
import amqplib from 'amqplib';
import { AMQP_URL, deleteTopology, queueDepth, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { decodeCursor, type CursorState } from '../src/core/cursor.js';

jest.setTimeout(180_000);

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const D = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const TOTAL = 6000;
const line = (i: number, dir = D, status = 'c') => `Tue Aug  2 09:43:00 2016 1 192.0.2.7 0 /${dir}/f${i}.bin b _ i r lemnatec ftp 0 * ${status}\n`;

const prefix = uniquePrefix('tailer-crash');
let tmp: { path: string; remove: () => Promise<void> };
let proc: ChildProcess | undefined;

afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  await deleteTopology(prefix);
  await tmp?.remove();
});

it('loses nothing and duplicates only unconfirmed lines across kill -9, rotations and a long session', async () => {
  tmp = await tempDir('tailer-crash');
  const cache = join(tmp.path, 'cache');
  const logDir = join(tmp.path, 'log');
  const stateDir = join(tmp.path, 'state');
  const log = join(logDir, 'xferlog');
  mkdirSync(join(cache, D), { recursive: true });
  mkdirSync(join(cache, 'Other/x/2016-08-02'), { recursive: true });
  mkdirSync(logDir);
  for (let i = 0; i < TOTAL; i++) writeFileSync(join(cache, D, `f${i}.bin`), '');
  writeFileSync(log, '');
  const sitesFile = join(logDir, 'sites.yaml');
  writeFileSync(sitesFile, stringifySites([testSite({ cacheRoot: cache, xferlog: log })]));

  const env = {
    ...process.env,
    HTTP_PORT: '0',
    AMQP_URL,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: process.env['CRASH_LOG_LEVEL'] ?? 'warn',
    SITES_FILE: sitesFile,
    SITE: 'ua-mac',
    STATE_DIR: stateDir,
    POLL_INTERVAL_MS: '50',
    ROTATE_WAIT_MS: '1500',
    CHECKPOINT_INTERVAL_MS: '100',
    PUBLISH_WINDOW: '200',
  };
  const cursorFile = join(stateDir, `${log.replace(/[^A-Za-z0-9._-]+/g, '_')}.cursor.json`);
  let stderr = '';
  let logs = '';
  const start = () => {
    proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  };
  const cursorsAtKill: CursorState[] = [];
  const kill = async () => {
    const p = proc!;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    try {
      cursorsAtKill.push(decodeCursor(readFileSync(cursorFile, 'utf8')));
    } catch {
      cursorsAtKill.push({ version: 1, files: [] });
    }
  };

  // The writer: lines in small bursts, a rotation every ~700 lines (alternating
  // styles), and a long session descriptor that keeps appending to the file it
  // opened for a while after a rename rotation.
  let written = 0;
  let rotations = 0;
  let session: number | undefined;
  let sessionLeft = 0;
  const otherLines: number[] = [];
  const rotate = () => {
    rotations++;
    for (let g = 8; g >= 2; g--) {
      try {
        renameSync(`${log}.${g}.gz`, `${log}.${g + 1}.gz`);
      } catch { /* absent */ }
    }
    try {
      writeFileSync(`${log}.2.gz`, gzipSync(readFileSync(`${log}.1`))); // delaycompress
      rmSync(`${log}.1`);
    } catch { /* absent */ }
    if (rotations % 2 === 1) {
      if (session !== undefined) closeSync(session);
      session = openSync(log, 'a'); // opened before the rename: keeps writing to xferlog.1
      sessionLeft = 60;
      renameSync(log, `${log}.1`);
      writeFileSync(log, '');
    } else {
      copyFileSync(log, `${log}.1`);
      const fd = openSync(log, 'r+');
      ftruncateSync(fd, 0);
      closeSync(fd);
    }
  };
  const writeAll = async () => {
    const fd = () => openSync(log, 'a');
    while (written < TOTAL) {
      const w = fd();
      for (let k = 0; k < 12 && written < TOTAL; k++) {
        if (session !== undefined && sessionLeft > 0 && written % 5 === 0) {
          writeSync(session, line(written++));
          sessionLeft--;
        } else {
          writeSync(w, line(written++));
        }
        if (written % 97 === 0) writeSync(w, line(written, D, 'i')); // aborted upload: not published
        if (written % 89 === 0) {
          otherLines.push(written);
          writeFileSync(join(cache, 'Other/x/2016-08-02', `f${written}.bin`), '');
          writeSync(w, line(written, 'Other/x/2016-08-02')); // not whitelisted
        }
      }
      closeSync(w);
      if (written % 700 < 12) rotate();
      await new Promise((r) => setTimeout(r, 15));
    }
    if (session !== undefined) closeSync(session);
  };

  start();
  // The deployment moment: the first cursor is on disk. Uploads and kills start after it (a first
  // start, with no cursor, reads the current log only: rotated logs from before it are not its to send).
  await waitFor('first cursor', () => { try { return readFileSync(cursorFile).length > 0; } catch { return false; } }, 20_000);
  const writer = writeAll();
  let kills = 0;
  let writing = true;
  void writer.then(() => (writing = false));
  while (writing) {
    await new Promise((r) => setTimeout(r, 250 + Math.random() * 900));
    await kill();
    kills++;
    // Sometimes stay down a while, so rotations pile up unseen.
    if (Math.random() < 0.4) await new Promise((r) => setTimeout(r, 300 + Math.random() * 800));
    start();
  }
  await writer;
  expect(kills).toBeGreaterThanOrEqual(5);
  expect(rotations).toBeGreaterThanOrEqual(6);

  const queue = topology(prefix, ['ua-mac']).queue({ key: 'batcherUploads', site: 'ua-mac' });
  // The reported depth of a quorum queue lags: wait for it to stay put for three looks.
  const seen: number[] = [];
  await waitFor('the tailer caught up', async () => {
    seen.push(await queueDepth(AMQP_URL, queue));
    const l = seen.slice(-3);
    return l.length === 3 && l[0]! >= TOTAL && l.every((x) => x === l[0]);
  }, 60_000, 1500);
  if (proc!.exitCode === null) {
    const exited = new Promise((r) => proc!.once('exit', r));
    proc!.kill('SIGTERM');
    await exited;
  }

  const events = (await consumeAll(queue)).map((m) => decode('file.uploaded', m));
  const count = new Map<number, number>();
  const byId = new Map<string, number>();
  for (const e of events) {
    const i = Number(/f(\d+)\.bin$/.exec(e.data.path)![1]);
    count.set(i, (count.get(i) ?? 0) + 1);
    byId.set(e.data.uploadId, (byId.get(e.data.uploadId) ?? 0) + 1);
    expect(e.data.path.startsWith(join(cache, D))).toBe(true);
  }
  // At least once, for every line.
  const missing = [];
  for (let i = 0; i < TOTAL; i++) if (!count.has(i)) missing.push(i);
  // On failure, CRASH_LOG_FILE=<path> keeps the tailers' logs and the cursors seen at each kill.

  // Duplicates only for lines some kill's cursor did not cover, at most once per such kill.
  const covered = (c: CursorState, fp: string, offset: number) => c.files.some((f) => f.fingerprint === fp && f.offset > offset);
  const violations: string[] = [];
  for (const [id, n] of byId) {
    if (n === 1) continue;
    const [, fp, off] = id.split(':');
    const uncovered = cursorsAtKill.filter((c) => !covered(c, fp!, Number(off))).length;
    if (n > 1 + uncovered) violations.push(`${id} published ${n} times, uncovered at ${uncovered} kills`);
  }
  if ((missing.length || violations.length) && process.env['CRASH_LOG_FILE']) {
    writeFileSync(process.env['CRASH_LOG_FILE'], `${logs}\nKILLS\n${cursorsAtKill.map((c) => JSON.stringify(c)).join('\n')}\nMISSING ${missing.join(',')}\nVIOLATIONS\n${violations.join('\n')}\n`);
  }
  expect(missing).toEqual([]);
  expect(violations).toEqual([]);
  // Same path published under two ids would mean a line was read twice at different positions.
  const dupByPath = [...count.values()].filter((n) => n > 1).length;
  const dupById = [...byId.values()].filter((n) => n > 1).length;
  expect(dupByPath).toBe(dupById);
  // A cursor never lost: no start fell back to reading everything again.
  expect(logs).not.toMatch(/none of the cursor's files was found/);
  process.stdout.write(`crash test: ${kills} kills, ${rotations} rotations, ${events.length} events for ${TOTAL} uploads, ${dupById} lines duplicated\n`);
  expect(stderr).not.toMatch(/failed to start/);
});

/**
 * Reads a whole queue with a prefetching consumer, until nothing arrives for
 * 2 s (basic.get one by one is far too slow, and a quorum queue's reported
 * depth lags, so a count cannot say when we are done).
 */
async function consumeAll(queue: string): Promise<Buffer[]> {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.prefetch(500);
    const out: Buffer[] = [];
    let lastAt = Date.now();
    await ch.consume(queue, (m) => {
      if (!m) return;
      out.push(m.content);
      lastAt = Date.now();
      ch.ack(m);
    });
    while (Date.now() - lastAt < 2000) await new Promise((r) => setTimeout(r, 200));
    await ch.close();
    return out;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
