import { mkdir, symlink } from 'node:fs/promises';
import { SweepStore } from '../src/adapters/sweep-store.js';
import { body, putFile, startHarness, TOKEN, type Harness } from './harness.js';

const DAY = 86_400_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ SWEEP_MIN_AGE_MINUTES: '2880', SWEEP_CHUNK: '3' });
});
afterAll(async () => {
  await h?.close();
});

const note = (path: string, f: { size: number; mtimeMs: number }, at = Date.now()) =>
  h.ledger.notePending({ path, size: f.size, mtimeMs: f.mtimeMs, uploadId: 'xferlog:x:1', attempt: 1, site: 'ua-mac', sensor: 's' }, at);

describe('cleaner: the sweep', () => {
  it('sends exactly the files older than the threshold that have no record of being sent, and records them', async () => {
    const r = h.root;
    const st = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
    const env = 'LemnaTec/EnvironmentLogger/2016-08-02';
    const old = Date.now() - 3 * DAY;
    const want: string[] = [];
    // Old, never seen (the FTP session died before logging).
    want.push(`${r}/${st}/no-record.bin`);
    await putFile(`${r}/${st}/no-record.bin`, 'a', old);
    want.push(`${r}/${env}/no-record.json`);
    await putFile(`${r}/${env}/no-record.json`, '{}', old - DAY);
    // Old, recorded for another version (rewritten since).
    const other = await putFile(`${r}/${st}/other-version.bin`, 'bb', old);
    await note(`${r}/${st}/other-version.bin`, { size: 1, mtimeMs: other.mtimeMs });
    want.push(`${r}/${st}/other-version.bin`);
    // Old, pending for longer than the threshold (its event was lost).
    const stale = await putFile(`${r}/${st}/stale-pending.bin`, 'c', old);
    await note(`${r}/${st}/stale-pending.bin`, stale, Date.now() - 3 * DAY);
    want.push(`${r}/${st}/stale-pending.bin`);
    // Old but accounted for: pending recently, in flight, transferred.
    const recent = await putFile(`${r}/${st}/recent-pending.bin`, 'd', old);
    await note(`${r}/${st}/recent-pending.bin`, recent);
    const inflight = await putFile(`${r}/${st}/in-flight.bin`, 'e', old);
    await h.ledger.claim('b', [{ path: `${r}/${st}/in-flight.bin`, ...inflight, uploadId: 'u', attempt: 1, site: 'ua-mac', sensor: 's' }]);
    const done = await putFile(`${r}/${st}/transferred.bin`, 'f', old);
    await h.ledger.claim('b', [{ path: `${r}/${st}/transferred.bin`, ...done, uploadId: 'u', attempt: 1, site: 'ua-mac', sensor: 's' }]);
    await h.ledger.markTransferred(`${r}/${st}/transferred.bin`, 't', 'abc');
    // Young, no record: not yet.
    await putFile(`${r}/${st}/young.bin`, 'g', Date.now() - DAY);
    // Never: hidden files and directories, outside the whitelist, symlinks.
    await putFile(`${r}/${st}/.partial.bin`, 'h', old);
    await putFile(`${r}/MovingSensor/stereoTop/.trash/2016-01-01/x.bin`, 'i', old);
    await putFile(`${r}/MovingSensor/flirIrCamera/2016-08-02/not-whitelisted.bin`, 'j', old);
    const outside = await putFile(`${h.outside}/old.bin`, 'k', old);
    await symlink(`${h.outside}/old.bin`, `${r}/${st}/link.bin`);
    await mkdir(`${r}/LemnaTec/EnvironmentLogger/2016-08-03`, { recursive: true });
    await symlink(h.outside, `${r}/LemnaTec/EnvironmentLogger/2016-08-03/linked-dir`);
    expect(outside.size).toBe(1);

    const started = await h.cleaner.sweeper.start('api');
    const result = await started!.done;
    expect(result).toMatchObject({ state: 'succeeded', trigger: 'api', error: null, minAgeMinutes: 2880 });
    expect(result.counts).toMatchObject({ scanned: 8, young: 1, old: 7, sent: 4, sent_no_record: 2, sent_other_version: 1, sent_stale: 1, recent_pending: 1, in_flight: 1, transferred: 1, skipped_special: 2, hidden: 2 });
    // The oldest untransferred file is the EnvironmentLogger one, 4 days old.
    expect(result.oldestUntransferredAgeSeconds).toBeGreaterThan(4 * 86_400 - 60);
    expect(result.oldestUntransferredAgeSeconds).toBeLessThan(4 * 86_400 + 60);

    const sent = (await h.messages('batcherUploads')).map(body);
    expect(sent.map((m) => m.data['path']).sort()).toEqual(want.sort());
    for (const m of sent) {
      expect(m.data).toMatchObject({ source: 'sweep', attempt: 1, ftpTime: null, site: 'ua-mac' });
      expect(m.id).toBe(`sweep:${m.data['path']}:${m.data['size']}:${m.data['mtimeMs']}`);
      expect(m.data['uploadId']).toBe(m.id);
      expect(await h.ledger.get(m.data['path'] as string)).toMatchObject({ state: 'pending', size: m.data['size'], mtimeMs: m.data['mtimeMs'] });
    }
    expect(sent.find((m) => String(m.data['path']).endsWith('no-record.json'))?.data['sensor']).toBe('EnvironmentLogger');
    expect(sent.find((m) => String(m.data['path']).endsWith('no-record.bin'))?.data['sensor']).toBe('stereoTop');
    expect(await h.metric('terra_transfer_sweep_files_total', { verdict: 'sent_no_record' })).toBe(2);
    expect(await h.metric('terra_transfer_cache_oldest_untransferred_file_age_seconds')).toBeGreaterThan(4 * 86_400 - 60);

    // A second sweep finds them pending (recently): nothing is sent twice.
    const again = await (await h.cleaner.sweeper.start('api'))!.done;
    expect(again.counts).toMatchObject({ sent: 0, recent_pending: 5 });
    expect(await h.messages('batcherUploads')).toHaveLength(4);
  });

  it('runs one sweep at a time across replicas, started and reported over HTTP with a token', async () => {
    const unauth = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/sweeps' });
    expect(unauth.statusCode).toBe(401);

    // Another replica holds the lock.
    const other = new SweepStore(h.redis, h.prefix, 'ua-mac');
    const token = await other.acquire(10_000);
    expect(token).not.toBeNull();
    const busy = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/sweeps', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(busy.statusCode).toBe(409);
    await token!.release();

    const ok = await h.cleaner.http.inject({ method: 'POST', url: '/api/v1/sweeps', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(202);
    const { id } = ok.json() as { id: string };
    let latest: { id: string; state: string } | undefined;
    for (let i = 0; i < 100; i++) {
      latest = (await h.cleaner.http.inject({ method: 'GET', url: '/api/v1/sweeps/latest' })).json();
      if (latest?.id === id && latest.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(latest).toMatchObject({ id, state: 'succeeded', trigger: 'api' });
    // The lock was released: another replica can sweep now.
    const next = await other.acquire(10_000);
    expect(next).not.toBeNull();
    await next!.release();
  });
});

describe('cleaner: API documentation', () => {
  it('documents the sweep endpoints in the OpenAPI document', async () => {
    const doc = (await h.cleaner.http.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { security?: unknown }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/sweeps', '/api/v1/sweeps/latest']));
    expect(doc.paths['/api/v1/sweeps']!['post']!.security).toEqual([{ bearer: [] }]);
  });
});
