import { mkdir, symlink } from 'node:fs/promises';
import { createEvent } from '@terra-transfer/contracts';
import { waitFor } from '@terra-transfer/testkit';
import { body, putFile, startHarness, TOKEN, type Harness } from './harness.js';

const HOUR = 3_600_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const submit = (payload: unknown, token: string | null = TOKEN) =>
  h.cleaner.http.inject({ method: 'POST', url: '/api/v1/files', payload: payload as Record<string, unknown>, headers: token ? { authorization: `Bearer ${token}` } : {} });

interface Answer {
  accepted: Array<{ path: string; size: number; mtimeMs: number; uploadId: string }>;
  refused: Array<{ path: string; code: string; reason: string }>;
}

describe('POST /api/v1/files (manual submission)', () => {
  it('sends what passes every check (publish confirmed, ledger pending) and names why anything else was refused, sending nothing for it', async () => {
    const ok = `${h.root}/MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-00-000/left.bin`;
    const f = await putFile(ok, 'left image', Date.now() - HOUR);
    const outside = `${h.outside}/secret.bin`;
    await putFile(outside, 'not the site\'s', Date.now() - HOUR);
    // A symlink inside the cache pointing out of it, and a symlinked folder leaving the root.
    const link = `${h.root}/MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-00-000/link.bin`;
    await symlink(outside, link);
    await symlink(h.outside, `${h.root}/MovingSensor/stereoTop/escape`);
    const notListed = `${h.root}/MovingSensor/flirIrCamera/2026-11-24/a.bin`;
    await putFile(notListed, 'ir', Date.now() - HOUR);
    await mkdir(`${h.root}/MovingSensor/stereoTop/a-folder`, { recursive: true });
    const hidden = `${h.root}/MovingSensor/stereoTop/.partial.bin`;
    await putFile(hidden, 'half', Date.now() - HOUR);

    const res = await submit({
      site: 'ua-mac',
      paths: [
        ok, outside, `${h.root}/../outside/secret.bin`, `${h.root}/MovingSensor/stereoTop/missing.bin`, link,
        `${h.root}/MovingSensor/stereoTop/escape/secret.bin`, notListed, `${h.root}/MovingSensor/stereoTop/a-folder`, hidden, 'relative/path.bin',
      ],
    });
    expect(res.statusCode).toBe(200);
    const a = res.json() as Answer;
    expect(a.accepted).toEqual([{ path: ok, size: f.size, mtimeMs: f.mtimeMs, uploadId: `api:${ok}:${f.size}:${f.mtimeMs}` }]);
    expect(a.refused.map((r) => [r.path, r.code])).toEqual([
      [outside, 'OUTSIDE_SITE'],
      [`${h.root}/../outside/secret.bin`, 'OUTSIDE_SITE'],
      [`${h.root}/MovingSensor/stereoTop/missing.bin`, 'MISSING'],
      [link, 'SYMLINK'],
      [`${h.root}/MovingSensor/stereoTop/escape/secret.bin`, 'SYMLINK'],
      [notListed, 'NOT_WHITELISTED'],
      [`${h.root}/MovingSensor/stereoTop/a-folder`, 'NOT_A_REGULAR_FILE'],
      [hidden, 'HIDDEN'],
      ['relative/path.bin', 'OUTSIDE_SITE'],
    ]);
    for (const r of a.refused) expect(r.reason.length).toBeGreaterThan(10);

    // One real publish, to the site's batcher queue, and nothing for the refused paths.
    const sent = await waitFor('file.uploaded', async () => {
      const m = (await h.messages('batcherUploads')).map(body);
      return m.length >= 1 ? m : undefined;
    }, 10_000, 100);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: 'file.uploaded', id: `api:${ok}:${f.size}:${f.mtimeMs}`, data: { site: 'ua-mac', sensor: 'stereoTop', path: ok, source: 'api', attempt: 1, ftpTime: null } });
    expect(await h.ledger.get(ok)).toMatchObject({ state: 'pending', uploadId: `api:${ok}:${f.size}:${f.mtimeMs}` });
    expect(await h.metric('terra_transfer_cleaner_submissions_total', { site: 'ua-mac', outcome: 'SYMLINK' })).toBe(2);
    expect(await h.metric('terra_transfer_cleaner_submissions_total', { site: 'ua-mac', outcome: 'accepted' })).toBe(1);

    // The whitelist is overridden on request; the other checks still apply. A repeat carries the same upload id.
    const again = (await submit({ site: 'ua-mac', paths: [notListed, ok, link], ignoreWhitelist: true })).json() as Answer;
    expect(again.accepted.map((x) => x.path)).toEqual([notListed, ok]);
    expect(again.accepted[1]!.uploadId).toBe(a.accepted[0]!.uploadId);
    expect(again.refused.map((r) => r.code)).toEqual(['SYMLINK']);
  });

  it('answers 401 without the token, 400 on a malformed body, 404 for a site it does not serve', async () => {
    const path = `${h.root}/MovingSensor/stereoTop/x.bin`;
    expect((await submit({ site: 'ua-mac', paths: [path] }, null)).statusCode).toBe(401);
    expect((await submit({ site: 'ua-mac', paths: [path] }, 'wrong-token')).statusCode).toBe(401);
    for (const bad of [{ paths: [path] }, { site: 'ua-mac' }, { site: 'ua-mac', paths: [] }, { site: 'ua-mac', paths: { a: 1 } }, { site: 'ua-mac', paths: [path], extra: 1 },
      { site: 'ua-mac', paths: Array.from({ length: 1001 }, (_, i) => `${path}${i}`) }, { site: 'UA MAC', paths: [path] }]) {
      const res = await submit(bad);
      expect([res.statusCode, bad]).toEqual([400, bad]);
    }
    const other = await submit({ site: 'field-b', paths: [path] });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ error: 'SITE_NOT_SERVED' });
    // Nothing was sent by any of these.
    expect((await h.messages('batcherUploads')).map(body).filter((m) => m.data['path'] === path)).toEqual([]);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.cleaner.http.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/api/v1/files']?.['post']).toBeDefined();
  });
});

describe('a site whose deletion policy is never', () => {
  let n: Harness;
  beforeAll(async () => {
    n = await startHarness({ DELETION_POLICY: 'never' });
  });
  afterAll(async () => {
    await n?.close();
  });

  it('records the arrival in the ledger (transferred) and keeps the file', async () => {
    const path = `${n.root}/MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-00-000/kept.bin`;
    const f = await putFile(path, 'kept forever', Date.now() - HOUR);
    const file = { path, size: f.size, mtimeMs: f.mtimeMs, uploadId: 'u-1', attempt: 1, site: 'ua-mac', sensor: 'stereoTop' };
    await n.ledger.claim('b-1', [file]);
    await n.ledger.markInFlight([path], 'b-1', 't-1');
    await n.amqp.publish(createEvent('file.transferred', 'tr-1', {
      site: 'ua-mac', taskId: 't-1', chunk: 0, files: [{
        sensor: 'stereoTop', path, sourcePath: path, destinationPath: '/ua-mac/kept.bin', size: f.size, mtimeMs: f.mtimeMs,
        checksum: f.md5, checksumAlgorithm: 'MD5', uploadId: 'u-1', attempt: 1,
      }],
    }));
    await waitFor('transferred', async () => (await n.ledger.get(path))?.state === 'transferred', 10_000, 100);
    expect((await import('node:fs')).existsSync(path)).toBe(true);
    expect(await n.metric('terra_transfer_cleaner_deletions_total', { outcome: 'kept_by_policy' })).toBe(1);
    expect((await n.messages('outcomes')).map(body).filter((m) => m.type === 'file.deleted')).toEqual([]);
  });
});
