/**
 * The durable reader on generated logs: every rotation style the issue names,
 * restarts from the saved cursor, bad input. No broker here: the sink settles
 * lines after a random delay, out of order, like publisher confirms do.
 */
import { appendFileSync, closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir, waitFor } from '@terra-transfer/testkit';
import { Follower, type FollowerEvents, type SourceView } from '../src/adapters/follower.js';
import { closeCandidates, openCandidates } from '../src/adapters/log-files.js';
import { fingerprint } from '../src/core/cursor.js';
import { CursorStore } from '../src/adapters/cursor-store.js';
import type { CursorState } from '../src/core/cursor.js';
import type { Line } from '../src/core/lines.js';
import { DEFAULT_ROTATED_SUFFIX, rotatedSuffixRegex } from '../src/core/rotation.js';

const line = (n: number) => `Mon Aug  1 12:00:07 2025 1 192.0.2.10 ${n} /MovingSensor/stereoTop/2016-08-02/f_${n}.bin b _ i r u ftp 0 * c\n`;
const numberOf = (text: string) => Number(/ (\d+) \/MovingSensor/.exec(text)?.[1] ?? -1);

interface Seen { n: number; text: string; fp: string; start: number; path: string }

/** Every follower a test starts, stopped after it even when it fails (a running one would keep jest alive). */
const running: Follower[] = [];

function harness(logPath: string, rotateWaitMs = 300, beforeBatch?: (batch: number) => Promise<void>) {
  const seen: Seen[] = [];
  const events: Array<[string, ...unknown[]]> = [];
  const ev = new Proxy({} as FollowerEvents, { get: (_t, name: string) => (...args: unknown[]) => events.push([name, ...args]) });
  let batches = 0;
  const sink = async (s: SourceView, lines: Line[]) => {
    await beforeBatch?.(batches++);
    for (const l of lines) {
      seen.push({ n: l.tooLong ? -2 : numberOf(l.text), text: l.text, fp: s.fingerprint, start: l.start, path: s.path });
      const t = s.watermark.add(l.end);
      setTimeout(() => s.watermark.settle(t), Math.random() * 5);
    }
  };
  const follower = new Follower({ logPath, rotatedSuffix: rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX), pollIntervalMs: 20, rotateWaitMs, maxLineBytes: 4096, readChunkBytes: 8192, startAtEnd: false }, sink, ev);
  running.push(follower);
  return { follower, seen, events, numbers: () => seen.map((s) => s.n).filter((n) => n >= 0) };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);

let dir: { path: string; remove: () => Promise<void> };
let log: string;
beforeEach(async () => {
  dir = await tempDir('reader');
  log = join(dir.path, 'xferlog');
});
afterEach(async () => {
  for (const f of running.splice(0)) await f.stop();
  await dir.remove();
});

it('create rotation: keeps draining the renamed file that a long session still appends to', async () => {
  const h = harness(log);
  writeFileSync(log, '');
  await h.follower.start(undefined);
  // A long FTP session opened the log (O_APPEND) before the rotation.
  const session = openSync(log, 'a');
  for (let i = 0; i < 100; i++) appendFileSync(log, line(i));
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
  await waitFor('rotation seen', () => h.events.some(([e]) => e === 'rotated'));
  for (let i = 100; i < 200; i++) {
    appendFileSync(log, line(i));
    if (i % 10 === 0) {
      writeSync(session, line(1000 + i)); // lands in xferlog.1, after the reader moved on to the new log
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  closeSync(session);
  const want = [...range(0, 200), ...range(100, 200).filter((i) => i % 10 === 0).map((i) => 1000 + i)];
  await waitFor('every line', () => h.seen.length >= want.length, 10_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(sorted(h.numbers())).toEqual(sorted(want));
  expect(h.events.some(([e, k]) => e === 'rotated' && k === 'rename')).toBe(true);
  // The rotated file is let go after the grace period, and remembered as done.
  await waitFor('release', () => h.events.some(([e]) => e === 'fileReleased'), 5_000);
  const snap = h.follower.snapshot();
  expect(snap.files.filter((f) => f.retired)).toHaveLength(1);
  await h.follower.stop();
});

it('copytruncate while stopped: the restart finds the copy by fingerprint and reads the lines only it holds', async () => {
  const h = harness(log);
  for (let i = 0; i < 50; i++) appendFileSync(log, line(i));
  await h.follower.start(undefined);
  await waitFor('first lines', () => h.seen.length >= 50);
  await h.follower.stop(); // freeze reading so the next lines exist only in the copy
  const h2 = harness(log);
  // Resume from a cursor at line 50, then write, copy, truncate before the reader looks.
  const state = h.follower.snapshot();
  for (let i = 50; i < 80; i++) appendFileSync(log, line(i));
  copyFileSync(log, `${log}.1`);
  const fd = openSync(log, 'r+');
  ftruncateSync(fd, 0);
  closeSync(fd);
  for (let i = 80; i < 100; i++) appendFileSync(log, line(i));
  await h2.follower.start(state);
  await waitFor('all lines', () => h2.seen.length >= 50, 10_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(sorted(h2.numbers())).toEqual(range(50, 100));
  await h2.follower.stop();
});

it('copytruncate while running: switches to the copy, then reads the truncated log from 0', async () => {
  const h = harness(log);
  writeFileSync(log, '');
  await h.follower.start(undefined);
  for (let i = 0; i < 40; i++) appendFileSync(log, line(i));
  await waitFor('lines', () => h.seen.length >= 40);
  for (let i = 40; i < 60; i++) appendFileSync(log, line(i));
  copyFileSync(log, `${log}.1`);
  const fd = openSync(log, 'r+');
  ftruncateSync(fd, 0);
  closeSync(fd);
  for (let i = 60; i < 65; i++) appendFileSync(log, line(i));
  await waitFor('all lines', () => h.seen.length >= 65, 10_000);
  await new Promise((r) => setTimeout(r, 150));
  expect(sorted(h.numbers())).toEqual(range(0, 65));
  await h.follower.stop();
});

it('copytruncate between two reads of one drain: the rest comes from the copy, never from the refilled log under the old ids', async () => {
  // The first batch is held (as a slow confirm holds it) while logrotate copies, truncates, and the
  // log refills past our offset; the next read at that offset would see the new content.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let holding = false;
  const h = harness(log, 300, async (batch) => {
    if (batch === 0) {
      holding = true;
      await held;
    }
  });
  for (let i = 0; i < 200; i++) appendFileSync(log, line(i)); // ~20 KB: several 8 KiB reads
  await h.follower.start(undefined);
  await waitFor('first batch held', () => holding);
  copyFileSync(log, `${log}.1`);
  const fd = openSync(log, 'r+');
  ftruncateSync(fd, 0);
  closeSync(fd);
  for (let i = 1000; i < 1300; i++) appendFileSync(log, line(i)); // ~30 KB: longer than where we were
  release();
  const want = [...range(0, 200), ...range(1000, 1300)];
  await waitFor('all lines', () => h.seen.length >= want.length, 10_000);
  await new Promise((r) => setTimeout(r, 150));
  expect(sorted(h.numbers())).toEqual(want);
  // Old lines carry the old file's fingerprint (read from it or its copy), new ones the new file's.
  const fpOld = fingerprint(Buffer.from(line(0)));
  expect(h.seen.filter((x) => x.n < 1000).every((x) => x.fp === fpOld)).toBe(true);
  expect(h.seen.filter((x) => x.n >= 1000).every((x) => x.fp === fingerprint(Buffer.from(line(1000))))).toBe(true);
  expect(h.events.some(([e, k]) => e === 'rotated' && k === 'copytruncate')).toBe(true);
  await h.follower.stop();
});

it('truncation without a copy: detected, and every line written after it is read', async () => {
  const h = harness(log);
  for (let i = 0; i < 30; i++) appendFileSync(log, line(i));
  await h.follower.start(undefined);
  await waitFor('lines', () => h.seen.length >= 30);
  writeFileSync(log, ''); // O_TRUNC: same inode
  for (let i = 30; i < 35; i++) appendFileSync(log, line(i));
  await waitFor('after truncation', () => h.seen.length >= 35, 5_000);
  expect(sorted(h.numbers())).toEqual(range(0, 35));
  expect(h.events.some(([e]) => e === 'truncated')).toBe(true);
  await h.follower.stop();
});

it('restart after downtime spanning several rotations, some gzip-compressed: resumes exactly', async () => {
  const store = new CursorStore(join(dir.path, 'state', 'cursor.json'));
  const h = harness(log);
  for (let i = 0; i < 100; i++) appendFileSync(log, line(i));
  await h.follower.start(undefined);
  await waitFor('lines', () => h.seen.length >= 100);
  await waitFor('settled', () => h.follower.snapshot().files[0]!.offset === readFileSync(log).length);
  await h.follower.stop();
  await store.save(h.follower.snapshot());

  // While down: 40 more lines, then three rotations (compress + delaycompress style).
  for (let i = 100; i < 140; i++) appendFileSync(log, line(i));
  const rotate = () => {
    for (let g = 5; g >= 1; g--) {
      try {
        renameSync(`${log}.${g}.gz`, `${log}.${g + 1}.gz`);
      } catch { /* absent */ }
    }
    try {
      writeFileSync(`${log}.2.gz`, gzipSync(readFileSync(`${log}.1`)));
      rmSync(`${log}.1`);
    } catch { /* absent */ }
    renameSync(log, `${log}.1`);
    writeFileSync(log, '');
  };
  rotate();
  for (let i = 140; i < 170; i++) appendFileSync(log, line(i));
  rotate();
  for (let i = 170; i < 200; i++) appendFileSync(log, line(i));
  rotate();
  for (let i = 200; i < 210; i++) appendFileSync(log, line(i));
  // Our file is now xferlog.3.gz; then .2.gz, .1, and the current log.

  const h2 = harness(log);
  await h2.follower.start(await store.load());
  await waitFor('catch-up', () => h2.seen.length >= 110, 10_000);
  await new Promise((r) => setTimeout(r, 150));
  expect(sorted(h2.numbers())).toEqual(range(100, 210));
  // Lines keep the ids (fingerprint + offset) they had in the original file.
  const first = h2.seen.find((s) => s.n === 100)!;
  expect(first.fp).toBe(h.seen[0]!.fp);
  expect(first.start).toBe(Buffer.byteLength(range(0, 100).map(line).join('')));
  await h2.follower.stop();
});

it('a restart while logrotate is compressing (xferlog.1 and its .2.gz both there) reads nothing twice', async () => {
  const h = harness(log, 100);
  writeFileSync(log, '');
  await h.follower.start(undefined);
  const shift = () => {
    for (let g = 5; g >= 2; g--) {
      try {
        renameSync(`${log}.${g}.gz`, `${log}.${g + 1}.gz`);
      } catch { /* absent */ }
    }
  };
  const compress = () => writeFileSync(`${log}.2.gz`, gzipSync(readFileSync(`${log}.1`)));
  for (let i = 0; i < 40; i++) appendFileSync(log, line(i));
  await waitFor('A0', () => h.seen.length >= 40);
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
  for (let i = 40; i < 80; i++) appendFileSync(log, line(i));
  await waitFor('A', () => h.seen.length >= 80);
  shift();
  compress();
  rmSync(`${log}.1`);
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
  for (let i = 80; i < 120; i++) appendFileSync(log, line(i));
  await waitFor('B', () => h.seen.length >= 120);
  // Both rotated files drained and released: the cursor remembers them as done.
  await waitFor('released', () => h.follower.snapshot().files.filter((f) => f.retired).length === 2, 5_000);
  await waitFor('settled', () => h.follower.snapshot().files.at(-1)!.offset === readFileSync(log).length);
  const state = h.follower.snapshot();
  await h.follower.stop();

  // Down, mid-rotation: .2.gz → .3.gz done, .1 compressed to .2.gz, .1 not removed yet.
  shift();
  compress();
  const h2 = harness(log);
  await h2.follower.start(state);
  for (let i = 120; i < 130; i++) appendFileSync(log, line(i));
  await waitFor('new lines', () => h2.seen.length >= 10, 5_000);
  await new Promise((r) => setTimeout(r, 200));
  expect(sorted(h2.numbers())).toEqual(range(120, 130));
});

it('the start\'s listing survives a rotation in the middle of it: every file is found, each once', async () => {
  const write = (path: string, from: number, to: number) => writeFileSync(path, range(from, to).map(line).join(''));
  write(`${log}.1`, 0, 10); // A
  write(log, 10, 20); // B
  const fpOf = (from: number, to: number) => fingerprint(Buffer.from(range(from, to).map(line).join('')));
  let rotated = 0;
  const suffix = rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX);
  const { candidates, stable } = await openCandidates(log, suffix, () => undefined, {
    afterOpen: () => {
      // Once, right after the first file was opened: a rename rotation.
      if (rotated++ > 0) return;
      renameSync(`${log}.1`, `${log}.2`);
      renameSync(log, `${log}.1`);
      write(log, 20, 30); // C
    },
  });
  expect(stable).toBe(true);
  expect(candidates.map((c) => [c.path, c.fingerprint])).toEqual([
    [`${log}.2`, fpOf(0, 10)],
    [`${log}.1`, fpOf(10, 20)],
    [log, fpOf(20, 30)],
  ]);
  await closeCandidates(candidates);

  // Rotations that never stop: it gives up after its attempts, says so, and still returns each file once.
  let n = 30;
  const again = await openCandidates(log, suffix, () => undefined, {
    attempts: 2,
    afterOpen: (p) => {
      if (p !== log) return;
      renameSync(log, `${log}.${n}`);
      write(log, n, n + 10);
      n += 10;
    },
  });
  expect(again.stable).toBe(false);
  const fps = again.candidates.map((c) => c.fingerprint);
  expect(new Set(fps).size).toBe(fps.length);
  await closeCandidates(again.candidates);
});

it('a file shorter than a line keeps one fingerprint as it grows', async () => {
  const h = harness(log);
  writeFileSync(log, 'Mon Aug  1 12:00:07 2025 1 192.0.2.10 7 /Mov');
  await h.follower.start(undefined);
  await new Promise((r) => setTimeout(r, 100));
  expect(h.seen).toHaveLength(0);
  expect(h.follower.snapshot().files[0]!.fingerprint).toBeNull();
  appendFileSync(log, 'ingSensor/stereoTop/2016-08-02/f_7.bin b _ i r u ftp 0 * c\n');
  for (let i = 8; i < 40; i++) appendFileSync(log, line(i)); // now well past 1 KiB
  await waitFor('lines', () => h.seen.length >= 33);
  expect(new Set(h.seen.map((s) => s.fp)).size).toBe(1);
  expect(h.follower.snapshot().files[0]!.fingerprint).toBe(h.seen[0]!.fp);
  await h.follower.stop();
});

it('bad input: long lines, garbage, a log that disappears or becomes a directory; no valid line is skipped', async () => {
  const h = harness(log, 200);
  writeFileSync(log, '');
  await h.follower.start(undefined);
  appendFileSync(log, line(1));
  appendFileSync(log, Buffer.alloc(1024 * 1024, 0x5a)); // 1 MB, no newline yet
  appendFileSync(log, Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
  appendFileSync(log, line(2));
  appendFileSync(log, Buffer.from([0xc3, 0x28, 0x0a]));
  appendFileSync(log, line(3));
  await waitFor('lines', () => h.numbers().length >= 3);
  expect(h.seen.filter((s) => s.n === -2)).toHaveLength(1); // the 1 MB line, reported once with its offset
  expect(h.seen.find((s) => s.n === -2)!.start).toBe(line(1).length);

  rmSync(log);
  await waitFor('missing', () => h.events.some(([e, , r]) => e === 'logUnavailable' && r === 'missing'));
  mkdirSync(log);
  await waitFor('directory', () => h.events.some(([e, , r]) => e === 'logUnavailable' && r === 'not_a_file'));
  rmSync(log, { recursive: true });
  writeFileSync(log, line(4));
  appendFileSync(log, line(5));
  await waitFor('back', () => h.numbers().includes(5), 5_000);
  expect(sorted(h.numbers())).toEqual([1, 2, 3, 4, 5]);
  expect(h.events.some(([e]) => e === 'logBack')).toBe(true);
  await h.follower.stop();
});

it('a cursor saved mid-stream never points past an unsettled line', async () => {
  const seen: number[] = [];
  const pending: Array<() => void> = [];
  const follower = new Follower(
    { logPath: log, rotatedSuffix: rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX), pollIntervalMs: 20, rotateWaitMs: 1000, maxLineBytes: 4096, readChunkBytes: 8192, startAtEnd: false },
    async (s, lines) => {
      for (const l of lines) {
        const t = s.watermark.add(l.end);
        seen.push(numberOf(l.text));
        pending.push(() => s.watermark.settle(t));
      }
    },
    new Proxy({} as FollowerEvents, { get: () => () => undefined }),
  );
  running.push(follower);
  for (let i = 0; i < 10; i++) appendFileSync(log, line(i));
  await follower.start(undefined);
  await waitFor('read', () => seen.length === 10);
  // Settle lines 0, 1, 2 and 5: the cursor may only cover 0..2.
  for (const i of [0, 1, 2, 5]) pending[i]!();
  const s: CursorState = follower.snapshot();
  expect(s.files[0]!.offset).toBe(line(0).length * 3);
  await follower.stop();
});

it('picks up a new line through the directory watch, well before the poll interval', async () => {
  const seen: number[] = [];
  const follower = new Follower(
    { logPath: log, rotatedSuffix: rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX), pollIntervalMs: 10_000, rotateWaitMs: 1000, maxLineBytes: 4096, readChunkBytes: 8192, startAtEnd: false },
    async (s, lines) => {
      for (const l of lines) {
        seen.push(Date.now());
        s.watermark.add(l.end, true);
      }
    },
    new Proxy({} as FollowerEvents, { get: () => () => undefined }),
  );
  running.push(follower);
  writeFileSync(log, '');
  await follower.start(undefined);
  await new Promise((r) => setTimeout(r, 100)); // the first pass is done; the next poll is 10 s away
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    appendFileSync(log, line(i));
    await waitFor('line seen', () => seen.length === i + 1, 5_000, 5);
    latencies.push(seen[i]! - t0);
    await new Promise((r) => setTimeout(r, 30));
  }
  expect(Math.max(...latencies)).toBeLessThan(500);
});
