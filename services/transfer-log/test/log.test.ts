import { Partitions } from '../src/adapters/partitions.js';
import { writeBatch } from '../src/adapters/store.js';
import { recordDelivery } from '../src/core/events.js';
import { partitionName } from '../src/core/report.js';
import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { freshDatabase, lifeOf, publishAll, startHarness, type Harness } from './harness.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let h: Harness;
beforeAll(async () => {
  db = await freshDatabase();
  h = await startHarness(db.url);
});
afterAll(async () => {
  await h?.close();
  await db?.drop();
});

const today = new Date().toISOString().slice(0, 10);
const path = (n: number) => `/cache/MovingSensor/stereoTop/2026-01-05/f${n}.bin`;

async function count(sql: string): Promise<number> {
  const r = await h.pool.query<{ n: string }>(sql);
  return Number(r.rows[0]!.n);
}

describe('events in → lineage, volumes, failures, stuck, reports', () => {
  beforeAll(async () => {
    // File 1: its whole life; file 2: uploaded and submitted, never arrives; file 3: given up; file 4: arrived on Monday 2026-01-05 (ISO week 2026-W02), other sensor.
    const f1 = lifeOf(1);
    const f2 = lifeOf(2);
    const f3 = lifeOf(3);
    const f4 = lifeOf(4, { sensor: 'flirIrCamera', size: 5000, day: '2026-01-05' });
    await publishAll(h.amqp, [f1.uploaded, f1.submitted, f1.transferred, f1.deleted, f1.ingested, f2.uploaded, f2.submitted, f3.uploaded, f3.submitted, f3.failed, f4.uploaded, f4.transferred]);
    await waitFor('12 events recorded', async () => (await count('SELECT count(*) AS n FROM events')) === 12);
    await waitFor('queue drained', async () => (await queueDepth(AMQP_URL, h.amqp.topology.queue('transferLog'))) === 0);
  });

  it("answers a file's lineage by path: the version's timeline and every event", async () => {
    const r = await h.get(`/api/v1/files?path=${encodeURIComponent(path(1))}`);
    expect(r.status).toBe(200);
    expect(r.body.versions).toHaveLength(1);
    const v = r.body.versions[0];
    expect(v).toMatchObject({
      site: 'ua-mac', uploadId: 'xferlog:abc:1', path: path(1), sensor: 'stereoTop', size: 1001, source: 'xferlog', batchId: 'b-1', taskId: 'task-1',
      checksum: 'abc123', destinationPath: `/dest${path(1)}`, bytesFreed: 1001, clowderFileId: 'a'.repeat(24), clowderDatasetId: 'b'.repeat(24), state: 'deleted', failures: 0,
    });
    const f1 = lifeOf(1);
    expect(v.ftpTime).toBe(f1.uploaded.data.ftpTime);
    expect(v.transferredAt).toBe(f1.transferred.time);
    expect(v.transferredAt.slice(0, 10)).toBe(today);
    expect(v.events.map((e: { type: string }) => e.type)).toEqual(['file.uploaded', 'task.submitted', 'file.transferred', 'file.deleted', 'file.ingested']);
    expect(v.events[0].data.path).toBe(path(1));
  });

  it('lists versions under a prefix, paginated with a cursor, % and _ taken literally', async () => {
    const p1 = await h.get(`/api/v1/files?prefix=${encodeURIComponent('/cache/MovingSensor/')}&limit=2`);
    expect(p1.status).toBe(200);
    expect(p1.body.items.map((i: { path: string }) => i.path)).toEqual(['/cache/MovingSensor/flirIrCamera/2026-01-05/f4.bin', path(1)]);
    const p2 = await h.get(`/api/v1/files?prefix=${encodeURIComponent('/cache/MovingSensor/')}&limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body.items.map((i: { path: string }) => i.path)).toEqual([path(2), path(3)]);
    expect(p2.body.nextCursor).toBeNull();
    expect((await h.get(`/api/v1/files?prefix=${encodeURIComponent('/cache/%')}`)).body.items).toEqual([]);
    expect((await h.get(`/api/v1/files?prefix=${encodeURIComponent('/cache/MovingSensor/stereoTop/2026-01-05/f_')}`)).body.items).toEqual([]);
  });

  it('sums arrivals per site and sensor per day and per ISO week', async () => {
    const byDay = await h.get(`/api/v1/volumes?by=day&from=2026-01-01&to=${today}`);
    expect(byDay.status).toBe(200);
    expect(byDay.body.volumes).toEqual(expect.arrayContaining([
      { site: 'ua-mac', sensor: 'flirIrCamera', period: '2026-01-05', start: '2026-01-05', files: 1, bytes: 5000 },
      { site: 'ua-mac', sensor: 'stereoTop', period: today, start: today, files: 1, bytes: 1001 },
    ]));
    expect(byDay.body.volumes).toHaveLength(2);
    const byWeek = await h.get('/api/v1/volumes?by=week&from=2026-01-01&to=2026-01-11&sensor=flirIrCamera');
    expect(byWeek.body.volumes).toEqual([{ site: 'ua-mac', sensor: 'flirIrCamera', period: '2026-W02', start: '2026-01-05', files: 1, bytes: 5000 }]);
    expect(await h.metric('terra_transfer_bytes_total', { site: 'ua-mac', sensor: 'flirIrCamera' })).toBe(5000);
    expect(await h.metric('terra_transfer_files_total', { site: 'ua-mac', sensor: 'stereoTop' })).toBe(1);
  });

  it('lists give-ups with reason and attempts, and versions stuck in a state', async () => {
    const f = await h.get('/api/v1/failures?site=ua-mac');
    expect(f.body.failures).toEqual([expect.objectContaining({ eventId: 'fail-3', path: path(3), reason: 'FILE_NOT_FOUND', attempts: 3, lastTaskId: 'task-3' })]);
    const s = await h.get('/api/v1/stuck?state=submitted&olderThan=0');
    expect(s.body.files.map((x: { path: string }) => x.path)).toEqual([path(2)]);
    expect((await h.get('/api/v1/stuck?state=submitted&olderThan=86400')).body.files).toEqual([]);
    expect((await h.get('/api/v1/stuck?state=failed&olderThan=0')).body.files.map((x: { path: string }) => x.path)).toEqual([path(3)]);
  });

  it('gives the daily report as JSON and CSV', async () => {
    const j = await h.get(`/api/v1/reports/daily?date=${today}`);
    expect(j.body).toEqual({ date: today, rows: [{ site: 'ua-mac', sensor: 'stereoTop', files: 1, bytes: 1001, failures: 1 }], totals: { files: 1, bytes: 1001, failures: 1 } });
    const c = await h.get(`/api/v1/reports/daily?date=${today}&format=csv`);
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toMatch(/^text\/csv/);
    expect(c.text).toBe(`date,site,sensor,files,bytes,failures\r\n${today},ua-mac,stereoTop,1,1001,1\r\n${today},total,,1,1001,1\r\n`);
    expect((await h.get('/api/v1/reports/daily?date=2026-02-30')).status).toBe(400);
  });

  it("reports per site today's and this week's arrivals, backlog and the log's lag", async () => {
    const s = await h.get('/api/v1/status');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ postgres: true, behind: false, waiting: 0 });
    expect(s.body.sites).toEqual([expect.objectContaining({ site: 'ua-mac', today: { files: 1, bytes: 1001 }, backlog: 2, failures24h: 1 })]);
    // The backlog by state adds up to the backlog.
    expect(Object.values(s.body.sites[0].backlogByState as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(2);
    expect(typeof s.body.lagSeconds).toBe('number');
    const metrics = await h.registry.metrics();
    expect(metrics).toMatch(/terra_transfer_log_lag_seconds \d/);
  });

  it('a redelivery of the same events changes nothing', async () => {
    const before = await h.get('/api/v1/volumes?by=day&from=2026-01-01');
    const versions = await h.pool.query('SELECT * FROM file_versions ORDER BY upload_id');
    const f1 = lifeOf(1);
    const f3 = lifeOf(3);
    const f4 = lifeOf(4, { sensor: 'flirIrCamera', size: 5000, day: '2026-01-05' });
    await publishAll(h.amqp, [f1.transferred, f1.transferred, f1.uploaded, f3.failed, f4.transferred]);
    await waitFor('5 duplicates counted', async () => (await h.metric('terra_transfer_log_events_total', { outcome: 'duplicate', type: 'file.transferred' })) === 3);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(12);
    expect(await count('SELECT count(*) AS n FROM failures')).toBe(1);
    expect((await h.get('/api/v1/volumes?by=day&from=2026-01-01')).body).toEqual(before.body);
    expect((await h.pool.query('SELECT * FROM file_versions ORDER BY upload_id')).rows).toEqual(versions.rows);
    expect(await h.metric('terra_transfer_bytes_total', { site: 'ua-mac', sensor: 'flirIrCamera' })).toBe(5000);
  });
});

describe('bad input', () => {
  it('stores an unknown type, a newer version, non-JSON and invalid UTF-8 raw, counts them, and keeps consuming', async () => {
    const q = h.amqp.topology.queue('transferLog');
    const now = new Date().toISOString();
    await h.amqp.publishRaw('', q, Buffer.from(JSON.stringify({ type: 'file.snapshotted', version: 1, id: 'snap-1', time: now, data: { path: '/x' } })), { messageId: 'snap-1' });
    await h.amqp.publishRaw('', q, Buffer.from(JSON.stringify({ ...lifeOf(50).uploaded, id: 'v99-1', version: 99 })), { messageId: 'v99-1' });
    await h.amqp.publishRaw('', q, Buffer.from('{not json'), { messageId: 'garbage-1' });
    await h.amqp.publishRaw('', q, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { messageId: 'bytes-1' });
    await h.amqp.publishRaw('', q, Buffer.from(JSON.stringify({ type: 'file.snapshotted', version: 1, id: 'nul-1', time: now, data: { path: '/a\u0000b' } })), { messageId: 'nul-1' });
    await h.amqp.publish(lifeOf(51).uploaded);
    await waitFor('the valid event after them applied', async () => (await h.get(`/api/v1/files?path=${encodeURIComponent(lifeOf(51).uploaded.data.path)}`)).body.versions?.length === 1);
    const rows = await h.pool.query<{ event_id: string; status: string; type: string; has_raw: boolean }>(
      `SELECT event_id, status, type, raw IS NOT NULL AS has_raw FROM events WHERE event_id IN ('snap-1', 'v99-1', 'garbage-1', 'bytes-1', 'nul-1') ORDER BY event_id`,
    );
    expect(rows.rows).toEqual([
      // No type of their own: the routing key they came with stands in.
      { event_id: 'bytes-1', status: 'not_storable', type: q, has_raw: true },
      { event_id: 'garbage-1', status: 'not_json', type: q, has_raw: true },
      { event_id: 'nul-1', status: 'not_storable', type: 'file.snapshotted', has_raw: true },
      { event_id: 'snap-1', status: 'unknown_type', type: 'file.snapshotted', has_raw: false },
      { event_id: 'v99-1', status: 'unknown_version', type: 'file.uploaded', has_raw: false },
    ]);
    expect(await h.metric('terra_transfer_log_events_total', { type: 'other', outcome: 'unknown_type' })).toBe(1);
    expect(await h.metric('terra_transfer_log_events_total', { type: 'file.uploaded', outcome: 'unknown_version' })).toBe(1);
    // Not applied: the newer version's file has no timeline.
    expect((await h.get(`/api/v1/files?path=${encodeURIComponent(lifeOf(50).uploaded.data.path)}`)).body.versions).toEqual([]);
    expect(await queueDepth(AMQP_URL, h.amqp.topology.deadLetterQueue('transferLog'))).toBe(0);
  });

  it('answers path queries with SQL metacharacters, 10 kB of text or invalid UTF-8 correctly or with 400, never an error page', async () => {
    for (const p of [`/cache/x'; DROP TABLE events; --`, `/cache/" OR 1=1 --`, '/cache/\\', '/cache/%_%']) {
      const r = await h.get(`/api/v1/files?path=${encodeURIComponent(p)}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ path: p, versions: [] });
      const pr = await h.get(`/api/v1/files?prefix=${encodeURIComponent(p)}`);
      expect(pr.status).toBe(200);
      expect(pr.body.items).toEqual([]);
    }
    expect(await count('SELECT count(*) AS n FROM events')).toBeGreaterThan(0);
    const long = await h.get(`/api/v1/files?path=/${'a'.repeat(10_240)}`);
    expect(long.status).toBe(400);
    expect(long.body.error).toBe('BAD_REQUEST');
    for (const raw of ['/cache/%FF%FE', '/cache/%C3', '/cache/a%00b', '/cache/%ED%A0%80']) {
      const r = await h.get(`/api/v1/files?path=${raw}`);
      expect([r.status, r.body?.error]).toEqual([400, 'BAD_REQUEST']);
      const pr = await h.get(`/api/v1/files?prefix=${raw}`);
      expect([pr.status, pr.body?.error]).toEqual([400, 'BAD_REQUEST']);
    }
    expect((await h.get('/api/v1/files?prefix=/cache&cursor=not-a-cursor')).status).toBe(400);
    expect((await h.get('/api/v1/files')).status).toBe(400);
    expect((await h.get('/api/v1/volumes?from=2026-13-01')).status).toBe(400);
    expect((await h.get(`/api/v1/volumes?sensor=${encodeURIComponent("x' OR '1'='1")}`)).body.volumes).toEqual([]);
    expect((await h.get('/api/v1/stuck?state=nope')).status).toBe(400);
  });
});

it('serves the OpenAPI document with every route', async () => {
  const r = await h.get('/docs/json');
  expect(r.status).toBe(200);
  expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(['/api/v1/files', '/api/v1/volumes', '/api/v1/failures', '/api/v1/stuck', '/api/v1/reports/daily', '/api/v1/status']));
});

it('creates day partitions ahead (moving rows the default partition held for that day) and drops those past the retention', async () => {
  const DAY = 86_400_000;
  const now = Date.now();
  const day = (offset: number) => new Date(now + offset * DAY).toISOString().slice(0, 10);
  const partitions = new Partitions(h.pool, 30, 3);
  const days = await partitions.load();
  expect(days).toEqual(expect.arrayContaining([day(-1), day(0), day(3)]));
  expect(days).not.toContain(day(20));
  // Far ahead (beyond the partitions made ahead) and far back (beyond the retention): the default partition takes them.
  const far = new Date(now + 20 * DAY);
  await writeBatch(h.pool, [recordDelivery({ body: Buffer.from(JSON.stringify({ ...lifeOf(70).uploaded, time: far.toISOString() })), routingKey: 'file.uploaded', messageId: undefined, timestamp: undefined })]);
  await partitions.ensureFor([new Date(now - 40 * DAY), new Date(now - 25 * DAY)]);
  expect(await partitions.load()).toContain(day(-25));
  expect(await partitions.load()).not.toContain(day(-40));
  expect(await count(`SELECT count(*) AS n FROM events_default WHERE event_id = 'up-70'`)).toBe(1);
  // 20 days on: that day's partition is made (the row moves into it), and the partitions older than 30 days before it go.
  const r = await partitions.maintain(far);
  expect(r.created).toContain(day(20));
  expect(r.dropped).toEqual([day(-25)]);
  expect(await count(`SELECT count(*) AS n FROM events_default WHERE event_id = 'up-70'`)).toBe(0);
  expect(await count(`SELECT count(*) AS n FROM ${partitionName(day(20))} WHERE event_id = 'up-70'`)).toBe(1);
  expect(await partitions.load()).not.toContain(day(-25));
  // The timelines and volumes stay when raw events go.
  expect((await h.get('/api/v1/volumes?by=day&from=2026-01-01&to=2026-01-31')).body.volumes).toHaveLength(1);
});
