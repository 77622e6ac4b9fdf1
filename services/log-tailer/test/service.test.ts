/**
 * The tailer against the real RabbitMQ: which lines become events, what the
 * events carry, dead letters for names it must not guess, the cursor saved
 * only after confirms.
 */
import { appendFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from '@terra-transfer/contracts';
import { AMQP_URL, deleteTopology, drainQueue, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { metric, startTailer, type TestTailer } from './helpers/tailer.js';

const D = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const xfer = (file: string, opts: { dir?: string; status?: string; size?: number; user?: string; day?: string } = {}) =>
  `Tue Aug ${opts.day ?? ' 2'} 09:43:00 2016 1 ::ffff:150.135.84.81 ${opts.size ?? 10} ${file} b _ ${opts.dir ?? 'i'} r ${opts.user ?? 'lemnatec'} ftp 0 * ${opts.status ?? 'c'}\n`;

let tmp: { path: string; remove: () => Promise<void> };
let prefix: string;
let t: TestTailer | undefined;

beforeEach(async () => {
  tmp = await tempDir('tailer-svc');
  prefix = uniquePrefix('tailer');
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await deleteTopology(prefix);
  await tmp.remove();
});

it('publishes completed uploads in whitelisted directories, resolved to the real files; nothing else', async () => {
  const cache = join(tmp.path, 'cache');
  const outside = join(tmp.path, 'outside');
  mkdirSync(join(cache, D), { recursive: true });
  mkdirSync(join(cache, 'MAC/lightning/2016-04-05'), { recursive: true });
  mkdirSync(join(cache, 'Private/x'), { recursive: true });
  mkdirSync(outside);
  const put = (rel: string, body = 'x'.repeat(10)) => writeFileSync(join(cache, rel), body);
  put(`${D}/left.bin`);
  put(`${D}/café.bin`, 'abc');
  put(`${D}/a b.bin`);
  put(`${D}/dup x.bin`);
  put(`${D}/dup_x.bin`);
  put(`${D}/.hidden.bin`);
  put('MAC/lightning/2016-04-05/strike.dat');
  put('Private/x/secret.bin');
  writeFileSync(join(outside, 'target.bin'), 'x');
  symlinkSync(join(outside, 'target.bin'), join(cache, D, 'link.bin'));
  utimesSync(join(cache, D, 'left.bin'), 1_470_130_980, 1_470_130_980);

  const log = join(tmp.path, 'xferlog');
  const lines = [
    xfer(`/${D}/left.bin`), // published
    xfer(`/${D}/caf??.bin`, { size: 3 }), // vsftpd-mangled UTF-8 → café.bin
    xfer(`/${D}/a_b.bin`), // space logged as _
    xfer(`/${D}/dup_x.bin`), // ambiguous: "dup x.bin" and "dup_x.bin"
    xfer(`/${D}/.hidden.bin`), // hidden
    xfer(`/${D}/gone.bin`), // not in the cache
    xfer(`/${D}/left.bin`, { dir: 'o' }), // download
    xfer(`/${D}/left.bin`, { status: 'i' }), // incomplete upload
    xfer('/Private/x/secret.bin'), // not whitelisted
    xfer(`/${D}/link.bin`), // resolves outside the cache root
    'garbage \x00\xff line\n',
    xfer('/MAC/lightning/2016-04-05/strike.dat', { day: '05' }), // zero-padded day, second sensor dir
  ];
  writeFileSync(log, lines.join(''), 'latin1');

  t = await startTailer({ prefix, logPath: log, cacheRoot: cache, stateDir: join(tmp.path, 'state'), whitelist: ['MovingSensor/stereoTop', 'MAC/lightning'] });
  const size = readFileSync(log).length;
  await waitFor('cursor at the end of the log', async () => (await t!.store.load())?.files.some((f) => f.offset === size), 10_000);

  const events = (await drainQueue(AMQP_URL, t.uploadsQueue)).map((m) => decode('file.uploaded', m.content));
  const byName = new Map(events.map((e) => [e.data.path.split('/').pop()!, e]));
  expect([...byName.keys()].sort()).toEqual(['a b.bin', 'café.bin', 'left.bin', 'strike.dat']);
  expect(events).toHaveLength(4);

  const left = byName.get('left.bin')!;
  const fp = t.tailer.snapshot().files[0]!.fingerprint;
  expect(left.id).toBe(`xferlog:${fp}:0`);
  expect(left.data).toEqual({
    site: 'ua-mac',
    sensor: 'stereoTop',
    path: join(cache, D, 'left.bin'),
    size: 10,
    mtimeMs: 1_470_130_980_000,
    ftpTime: '2016-08-02T09:43:00.000Z',
    source: 'xferlog',
    attempt: 1,
    uploadId: left.id,
  });
  expect(byName.get('café.bin')!.data.size).toBe(3);
  expect(byName.get('café.bin')!.id).toBe(`xferlog:${fp}:${lines[0]!.length}`);
  expect(byName.get('strike.dat')!.data).toMatchObject({ sensor: 'lightning', ftpTime: '2016-08-05T09:43:00.000Z' });

  // The ambiguous name and the path outside the cache root are dead-lettered with the reason.
  const rejects = await drainQueue(AMQP_URL, t.rejectsQueue);
  const codes = rejects.map((m) => m.properties.headers?.['x-terra-error-code']).sort();
  expect(codes).toEqual(['AMBIGUOUS_NAME', 'PATH_REJECTED']);
  const amb = rejects.find((m) => m.properties.headers?.['x-terra-error-code'] === 'AMBIGUOUS_NAME')!;
  expect(amb.content.toString('latin1')).toBe(lines[3]!.trimEnd());
  expect(String(amb.properties.headers?.['x-terra-error-detail'])).toMatch(/2 files match/);

  const lineMetric = (outcome: string) => metric(t!.registry, 'terra_transfer_xferlog_lines_total', { outcome });
  expect(await lineMetric('published')).toBe(4);
  expect(await lineMetric('ambiguous')).toBe(1);
  expect(await lineMetric('rejected')).toBe(1);
  expect(await lineMetric('gone')).toBe(1);
  expect(await lineMetric('hidden')).toBe(1);
  expect(await lineMetric('download')).toBe(1);
  expect(await lineMetric('incomplete_upload')).toBe(1);
  expect(await lineMetric('not_whitelisted')).toBe(1);
  expect(await lineMetric('unparseable')).toBe(1);
  expect(await metric(t.registry, 'terra_transfer_xferlog_unresolved_names_total', { reason: 'gone' })).toBe(1);
});

it('a restart resumes from the cursor: no line published twice after a clean stop, new lines published', async () => {
  const cache = join(tmp.path, 'cache');
  mkdirSync(join(cache, D), { recursive: true });
  for (let i = 0; i < 30; i++) writeFileSync(join(cache, D, `f${i}.bin`), '');
  const log = join(tmp.path, 'xferlog');
  for (let i = 0; i < 20; i++) appendFileSync(log, xfer(`/${D}/f${i}.bin`));
  const cfg = { prefix, logPath: log, cacheRoot: cache, stateDir: join(tmp.path, 'state'), whitelist: ['MovingSensor'] };
  t = await startTailer(cfg);
  await waitFor('20 published', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 20);
  await t.stop();
  for (let i = 20; i < 30; i++) appendFileSync(log, xfer(`/${D}/f${i}.bin`));
  t = await startTailer(cfg);
  await waitFor('10 more', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 10);
  await new Promise((r) => setTimeout(r, 300));
  const ids = (await drainQueue(AMQP_URL, t.uploadsQueue)).map((m) => decode('file.uploaded', m.content).data.path);
  expect(ids).toHaveLength(30);
  expect(new Set(ids).size).toBe(30);
});

it('keeps lines unsettled while the broker refuses them, and publishes them once it accepts', async () => {
  // A publish that is returned (no queue bound) must not advance the cursor.
  const cache = join(tmp.path, 'cache');
  mkdirSync(join(cache, D), { recursive: true });
  writeFileSync(join(cache, D, 'a.bin'), '');
  const log = join(tmp.path, 'xferlog');
  writeFileSync(log, xfer(`/${D}/a.bin`));
  t = await startTailer({ prefix, logPath: log, cacheRoot: cache, stateDir: join(tmp.path, 'state'), whitelist: ['MovingSensor'] });
  await waitFor('published', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 1);
  // Unbind every queue bound to the site's file.uploaded (the batcher's and the transfer log's): later publishes come back unroutable.
  const { default: amqplib } = await import('amqplib');
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const bound = [t.uploadsQueue, t.amqp.topology.queue('transferLog')];
  for (const q of bound) await ch.unbindQueue(q, t.amqp.topology.eventsExchange, 'file.uploaded.ua-mac');
  writeFileSync(join(cache, D, 'b.bin'), '');
  appendFileSync(log, xfer(`/${D}/b.bin`));
  t.tailer.poke();
  await waitFor('a failed publish', async () => (await metric(t!.registry, 'terra_transfer_xferlog_publish_failures_total', { code: 'UNROUTABLE' })) >= 1);
  const first = xfer(`/${D}/a.bin`).length;
  await t.tailer.checkpoint(true);
  expect((await t.store.load())!.files[0]!.offset).toBe(first);
  for (const q of bound) await ch.bindQueue(q, t.amqp.topology.eventsExchange, 'file.uploaded.ua-mac');
  await conn.close();
  await waitFor('published after the retry', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) === 2, 15_000);
  await waitFor('cursor moved', async () => (await t!.store.load())!.files[0]!.offset === readFileSync(log).length);
});
