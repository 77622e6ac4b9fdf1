/**
 * The tailer against the real RabbitMQ on the names the log gets wrong: paths
 * written with `./`, `//` or `..` (not hidden for it), and names that log
 * alike (`a b.bin` and `a_b.bin`), decided by the logged size and the versions
 * already sent, dead-lettered with their candidates only when the evidence
 * cannot decide.
 */
import { appendFileSync, mkdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '@terra-transfer/contracts';
import { AMQP_URL, deleteTopology, drainQueue, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { metric, startTailer, type TestTailer } from './helpers/tailer.js';

const D = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const xfer = (file: string, size: number, time = '09:43:00') => `Tue Aug  2 ${time} 2016 1 ::ffff:150.135.84.81 ${size} ${file} b _ i r lemnatec ftp 0 * c\n`;

let tmp: { path: string; remove: () => Promise<void> };
let prefix: string;
let t: TestTailer | undefined;
let cache: string;
let log: string;

beforeEach(async () => {
  tmp = await tempDir('tailer-names');
  prefix = uniquePrefix('tailer-names');
  cache = join(tmp.path, 'cache');
  log = join(tmp.path, 'xferlog');
  mkdirSync(join(cache, D), { recursive: true });
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await deleteTopology(prefix);
  await tmp.remove();
});

const start = async () => {
  t = await startTailer({ prefix, logPath: log, cacheRoot: cache, stateDir: join(tmp.path, 'state'), whitelist: ['MovingSensor/stereoTop'] });
  return t;
};
const settledToEnd = () => waitFor('cursor at the end of the log', async () => (await t!.store.load())?.files.some((f) => f.offset === readFileSync(log).length) ?? false, 10_000);
const put = (rel: string, bytes: number) => writeFileSync(join(cache, rel), Buffer.alloc(bytes, 0x61));
const sentPaths = async () => (await drainQueue(AMQP_URL, t!.uploadsQueue)).map((m) => decode('file.uploaded', m.content).data.path);

it('normalises a logged path before the hidden check: `./`, `//` and `..` are not hidden; a dot component is', async () => {
  put(`${D}/dot.bin`, 1);
  put(`${D}/slash.bin`, 2);
  put(`${D}/up.bin`, 3);
  mkdirSync(join(cache, D, '.partial'));
  put(`${D}/.partial/inside.bin`, 4);
  put(`${D}/.tmp.bin`, 5);
  writeFileSync(log, [
    xfer(`/${D}/./dot.bin`, 1), // a client that stored ./dot.bin
    xfer(`/${D}//slash.bin`, 2),
    xfer(`/${D}/.partial/../up.bin`, 3), // a dot directory left by `..`: the file is not in it
    xfer(`/${D}/./.partial/inside.bin`, 4), // hidden directory
    xfer(`/${D}/./.tmp.bin`, 5), // hidden file
  ].join(''), 'latin1');
  await start();
  await settledToEnd();
  expect((await sentPaths()).sort()).toEqual([join(cache, D, 'dot.bin'), join(cache, D, 'slash.bin'), join(cache, D, 'up.bin')].sort());
  expect(await metric(t!.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'hidden' })).toBe(2);
  expect(await metric(t!.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'published' })).toBe(3);
});

it('decides between names that log alike by the logged size and the versions already sent', async () => {
  await start();
  // "a b.bin" arrives and is sent.
  put(`${D}/a b.bin`, 10);
  appendFileSync(log, xfer(`/${D}/a_b.bin`, 10));
  t!.tailer.poke();
  await waitFor('first sent', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 1);
  // "a_b.bin" arrives with another size: the logged size matches one candidate only.
  put(`${D}/a_b.bin`, 20);
  appendFileSync(log, xfer(`/${D}/a_b.bin`, 20, '09:43:05'));
  // "c d.bin" then "c_d.bin", the same size: "c d.bin"'s version was sent, so the second line is "c_d.bin".
  put(`${D}/c d.bin`, 7);
  appendFileSync(log, xfer(`/${D}/c_d.bin`, 7, '09:43:06'));
  t!.tailer.poke();
  await waitFor('three sent', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 3);
  put(`${D}/c_d.bin`, 7);
  appendFileSync(log, xfer(`/${D}/c_d.bin`, 7, '09:43:07'));
  t!.tailer.poke();
  await settledToEnd();
  await waitFor('four sent', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 4);
  expect(await sentPaths()).toEqual([join(cache, D, 'a b.bin'), join(cache, D, 'a_b.bin'), join(cache, D, 'c d.bin'), join(cache, D, 'c_d.bin')]);
  expect(await drainQueue(AMQP_URL, t!.rejectsQueue)).toHaveLength(0);
  expect(await metric(t!.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'ambiguous' })).toBe(0);
});

it('dead-letters what the evidence cannot decide, naming the line, every candidate with its size and mtime, and the reason', async () => {
  // Both exist, the same size, neither sent: nothing tells which one the line is for.
  put(`${D}/x y.bin`, 10);
  put(`${D}/x_y.bin`, 10);
  put(`${D}/ok.bin`, 1);
  const lines = [xfer(`/${D}/x_y.bin`, 10), xfer(`/${D}/ok.bin`, 1)];
  writeFileSync(log, lines.join(''), 'latin1');
  await start();
  await settledToEnd();
  expect(await sentPaths()).toEqual([join(cache, D, 'ok.bin')]);
  const rejects = await drainQueue(AMQP_URL, t!.rejectsQueue);
  expect(rejects).toHaveLength(1);
  const m = rejects[0]!;
  const h = m.properties.headers ?? {};
  expect(h['x-terra-error-code']).toBe('AMBIGUOUS_NAME');
  expect(m.content.toString('latin1')).toBe(lines[0]!.trimEnd());
  expect(h['x-terra-xferlog-file']).toBe(log);
  expect(Number(h['x-terra-xferlog-offset'])).toBe(0);
  expect(Number(h['x-terra-logged-size'])).toBe(10);
  const detail = String(h['x-terra-error-detail']);
  expect(detail).toMatch(/2 files match/);
  expect(detail).toMatch(/x y\.bin/);
  expect(detail).toMatch(/x_y\.bin/);
  expect(detail).toMatch(/none was sent/);
  const candidates = JSON.parse(String(h['x-terra-candidates'])) as Array<{ path: string; size: number; mtimeMs: number; sent: boolean; event: { type: string; data: { path: string; size: number; uploadId: string } } | null }>;
  expect(candidates.map((c) => c.path).sort()).toEqual([join(cache, D, 'x y.bin'), join(cache, D, 'x_y.bin')]);
  for (const c of candidates) {
    expect(c.size).toBe(10);
    expect(c.mtimeMs).toBe(statSync(c.path).mtimeMs);
    expect(c.sent).toBe(false);
    // The event the tailer would have sent for this candidate: the operator publishes the right one.
    expect(c.event).toMatchObject({ type: 'file.uploaded', data: { path: c.path, size: 10, source: 'xferlog' } });
    expect(decode('file.uploaded', Buffer.from(JSON.stringify(c.event))).data.path).toBe(c.path);
  }
  expect(await metric(t!.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'ambiguous' })).toBe(1);
});
