import { unlink } from 'node:fs/promises';
import { createEvent, type MessageData } from '@terra-transfer/contracts';
import { waitFor } from '@terra-transfer/testkit';
import { body, putFile, startHarness, TOKEN, type Harness } from './harness.js';

const HOUR = 3_600_000;
/** Short enough for a test, long enough to see the file in the failed state first. */
const BACKOFF_SECONDS = 4;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ FAILED_RESEND_BACKOFF_SECONDS: String(BACKOFF_SECONDS), FAILED_RESEND_BACKOFF_MAX_SECONDS: '3600', FAILED_RESEND_CHECK_SECONDS: '1', CHANGED_SETTLE_SECONDS: '900' });
});
afterAll(async () => {
  await h?.close();
});

/** A file whose record is in_flight after its third attempt, as the batcher leaves it. */
async function inFlight(rel: string, content: string) {
  const path = `${h.root}/${rel}`;
  const f = await putFile(path, content, Date.now() - HOUR);
  const uploadId = `xferlog:abc:${rel}`;
  const file = { path, size: f.size, mtimeMs: f.mtimeMs, uploadId, attempt: 3, site: 'ua-mac', sensor: 'stereoTop' };
  await h.ledger.claim('batch-1', [file]);
  await h.ledger.markInFlight([path], 'batch-1', 'task-3');
  return { ...file };
}

const failed = (f: { path: string; size: number; uploadId: string }, reason = 'FILE_NOT_FOUND'): MessageData<'file.failed'> => ({
  site: 'ua-mac', sensor: 'stereoTop', path: f.path, size: f.size, uploadId: f.uploadId, attempts: 3, reason, detail: 'task task-3 ended FAILED (EXPIRED); attempt 3 of 3', lastTaskId: 'task-3',
});
const publishFailed = (data: MessageData<'file.failed'>) => h.amqp.publish(createEvent('file.failed', `file.failed:${data.uploadId}:${data.attempts}`, data));

interface Listed { path: string; reason: string; detail: string; attempts: number; giveUps: number; failedAt: string; nextResendAt: string }
const list = async (query = '') => {
  const res = await h.cleaner.http.inject({ method: 'GET', url: `/api/v1/files/failed${query}` });
  expect(res.statusCode).toBe(200);
  return res.json() as { total: number; items: Listed[]; nextOffset: number | null };
};
const uploadsOf = async (path: string) => (await h.messages('batcherUploads')).map(body).filter((m) => m.data['path'] === path);

describe('cleaner: a file given up on', () => {
  it('is recorded failed, listed and counted, then sent again as a new round after the backoff', async () => {
    const f = await inFlight('MovingSensor/stereoTop/2016-09-01/2016-09-01__10-00-00-000/left.bin', 'never arrives');
    const t0 = Date.now();
    await publishFailed(failed(f));

    const rec = await waitFor('ledger says failed', async () => {
      const r = await h.ledger.get(f.path);
      return r?.state === 'failed' ? r : undefined;
    });
    expect(rec).toMatchObject({ reason: 'FILE_NOT_FOUND', attempt: 3, uploadId: f.uploadId });
    const page = await list();
    const item = page.items.find((i) => i.path === f.path);
    expect(item).toMatchObject({ reason: 'FILE_NOT_FOUND', attempts: 3, giveUps: 1, detail: expect.stringContaining('attempt 3 of 3') });
    expect(Date.parse(item!.nextResendAt) - Date.parse(item!.failedAt)).toBe(BACKOFF_SECONDS * 1000);
    await waitFor('gauge shows it', async () => (await h.metric('terra_transfer_failed_files', { site: 'ua-mac' })) >= 1);
    expect(await h.metric('terra_transfer_cleaner_give_ups_total', { reason: 'FILE_NOT_FOUND' })).toBe(1);
    // Nothing was sent before the backoff.
    expect(await uploadsOf(f.path)).toEqual([]);

    const sent = await waitFor('sent again', async () => (await uploadsOf(f.path))[0], 20_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(BACKOFF_SECONDS * 1000 - 100);
    expect(sent.data).toMatchObject({ path: f.path, size: f.size, mtimeMs: f.mtimeMs, attempt: 1, source: 'sweep', sensor: 'stereoTop', site: 'ua-mac' });
    expect(sent.id).toBe(`resend:${f.path}:${f.size}:${f.mtimeMs}:1`);
    expect(sent.data['uploadId']).toBe(sent.id);
    await waitFor('record pending', async () => (await h.ledger.get(f.path))?.state === 'pending');
    expect(await h.ledger.get(f.path)).toMatchObject({ state: 'pending', uploadId: sent.id, attempt: 1 });
    await waitFor('gone from the list and the gauge', async () => !(await list()).items.some((i) => i.path === f.path) && (await h.metric('terra_transfer_failed_files', { site: 'ua-mac' })) === 0);

    // A redelivery of the old file.failed (the first round's upload) does not fail the new round.
    await publishFailed(failed(f));
    await waitFor('stale give-up ignored', async () => (await h.metric('terra_transfer_cleaner_failures_total', { outcome: 'other_upload' })) >= 1);
    expect((await h.ledger.get(f.path))?.state).toBe('pending');
  });

  it('keeps a file that vanished from the cache failed, with a readable reason', async () => {
    const f = await inFlight('MovingSensor/stereoTop/2016-09-02/2016-09-02__10-00-00-000/left.bin', 'lost');
    await unlink(f.path);
    await publishFailed(failed(f, 'EXPIRED'));
    const item = await waitFor('listed as missing', async () => (await list()).items.find((i) => i.path === f.path && i.reason === 'CACHE_FILE_MISSING'), 20_000);
    expect(item.detail).toContain('EXPIRED');
    expect((await h.ledger.get(f.path))?.state).toBe('failed');
    expect(await uploadsOf(f.path)).toEqual([]);
  });

  it('resends now on request (bearer token), and sends the version now on disk', async () => {
    const path = `${h.root}/MovingSensor/stereoTop/2016-09-03/2016-09-03__10-00-00-000/left.bin`;
    const f = await inFlight('MovingSensor/stereoTop/2016-09-03/2016-09-03__10-00-00-000/left.bin', 'old');
    await h.cleaner.stop(); // no schedule: only the request sends it
    await h.cleaner.handleFailed(createEvent('file.failed', 'f-3', failed(f)));
    const now = await putFile(path, 'rewritten since, and settled', Date.now() - HOUR / 2);

    expect((await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/files/failed/resend', payload: { paths: [path] } })).statusCode).toBe(401);
    const res = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/files/failed/resend', headers: { authorization: `Bearer ${TOKEN}` }, payload: { paths: [path] } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ requested: 1, sent_changed: 1 });
    const [sent] = await uploadsOf(path);
    expect(sent?.data).toMatchObject({ size: now.size, mtimeMs: now.mtimeMs, attempt: 1, source: 'sweep' });
    expect(sent?.id).toBe(`sweep:${path}:${now.size}:${now.mtimeMs}`);
    expect(await h.ledger.get(path)).toMatchObject({ state: 'pending', size: now.size });

    // All failed files at once: the one missing from the cache (previous test) stays failed.
    const all = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/files/failed/resend', headers: { authorization: `Bearer ${TOKEN}` }, payload: {} });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ requested: 1, kept: 1, resent: 0 });
    expect((await list()).items.map((i) => i.reason)).toEqual(['CACHE_FILE_MISSING']);
    expect(await h.metric('terra_transfer_failed_files', { site: 'ua-mac' })).toBe(1);
  });

  it('documents the failed-file endpoints', async () => {
    const doc = (await h.cleaner.http.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { security?: unknown }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/files/failed', '/api/v1/files/failed/resend']));
    expect(doc.paths['/api/v1/files/failed/resend']!['post']!.security).toEqual([{ bearer: [] }]);
  });
});
