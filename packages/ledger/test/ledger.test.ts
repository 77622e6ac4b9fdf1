import { Redis } from 'ioredis';
import { FileLedger, isInFlight, isTransferred, type ClaimFile, type GiveUp } from '@terra-transfer/ledger';
import { REDIS_URL, deleteKeys, uniquePrefix } from '@terra-transfer/testkit';

const file = (n: number, over: Partial<ClaimFile> = {}): ClaimFile => ({
  path: `/cache/s/f${n}`, size: 10 + n, mtimeMs: 1000 + n, uploadId: `u${n}`, attempt: 1, site: 'ua-mac', sensor: 's', ...over,
});

const giveUp = (n: number, over: Partial<GiveUp> = {}): GiveUp => ({
  path: `/cache/s/f${n}`, uploadId: `u${n}`, size: 10 + n, attempts: 3, reason: 'EXPIRED', detail: 'task t1 ended FAILED', ...over,
});
/** Resend delays after the 1st, 2nd, 3rd (and later) give-up. */
const DELAYS = [60_000, 120_000, 180_000];

describe('FileLedger (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let ledger: FileLedger;
  beforeEach(() => {
    redis = new Redis(REDIS_URL);
    prefix = uniquePrefix('ledger');
    ledger = new FileLedger(redis, prefix, 60_000);
  });
  afterEach(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('claims unseen files once; another batch cannot claim them', async () => {
    expect((await ledger.claim('b1', [file(1), file(2)])).map((r) => r.outcome)).toEqual(['claimed', 'claimed']);
    // Redelivery to the same batch is a success, another batch is told where the file is.
    expect((await ledger.claim('b1', [file(1)]))[0]).toEqual({ path: '/cache/s/f1', outcome: 'claimed' });
    expect((await ledger.claim('b2', [file(1), file(3)]))).toEqual([
      { path: '/cache/s/f1', outcome: 'in_batch', batchId: 'b1' },
      { path: '/cache/s/f3', outcome: 'claimed' },
    ]);
    const r = await ledger.get('/cache/s/f1');
    expect(r).toMatchObject({ state: 'batched', batchId: 'b1', size: 11, mtimeMs: 1001, attempt: 1, taskId: null });
  });

  it('follows a file to its end and never claims a transferred version again', async () => {
    await ledger.claim('b1', [file(1)]);
    expect(await ledger.markInFlight(['/cache/s/f1'], 'b1', 'task-1')).toBe(1);
    expect((await ledger.claim('b2', [file(1)]))[0]).toEqual({ path: '/cache/s/f1', outcome: 'in_flight', taskId: 'task-1' });
    expect(isInFlight(await ledger.get('/cache/s/f1'), file(1))).toBe(true);
    expect(await ledger.markTransferred('/cache/s/f1', 'task-1', 'abc')).toBe(true);
    expect(await ledger.markTransferred('/cache/s/f1', 'task-1', 'abc')).toBe(false); // redelivery: no-op
    expect((await ledger.claim('b3', [file(1)]))[0]!.outcome).toBe('transferred');
    expect(await ledger.markDeleted('/cache/s/f1', file(99), 'task-1', 'abc')).toBe(false); // another version: left alone
    expect(await ledger.markDeleted('/cache/s/f1', file(1), 'task-1', 'abc')).toBe(true);
    expect(await ledger.markDeleted('/cache/s/f1', file(1), 'task-1', 'abc')).toBe(false); // redelivery: no-op
    const r = await ledger.get('/cache/s/f1');
    expect(r).toMatchObject({ state: 'deleted', checksum: 'abc', taskId: 'task-1' });
    expect(isTransferred(r, file(1))).toBe(true);
    expect(await redis.pttl(ledger.key('/cache/s/f1'))).toBeGreaterThan(0);
  });

  it('marks in flight only what its own batch holds: a newer version another batch claimed meanwhile stays that batch\'s', async () => {
    // b1 holds version A; before Globus accepts b1's task, the gantry re-uploads the path and b2 claims version B.
    await ledger.claim('b1', [file(1)], 1_000);
    const b = file(1, { size: 99, mtimeMs: 5000, uploadId: 'u1-retry' });
    expect((await ledger.claim('b2', [b], 2_000))[0]!.outcome).toBe('claimed');
    // b1's task accepted: its mark must not take B into b1's task (B is not in it) ...
    expect(await ledger.markInFlight(['/cache/s/f1'], 'b1', 't1')).toBe(0);
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'batched', batchId: 'b2', size: 99, taskId: null });
    // ... so b2's claim again before its submission still holds B, and b2's task takes it.
    expect((await ledger.claim('b2', [b], 3_000))[0]!.outcome).toBe('claimed');
    expect(await ledger.markInFlight(['/cache/s/f1'], 'b2', 't2')).toBe(1);
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'in_flight', batchId: 'b2', taskId: 't2', size: 99 });
    expect(await ledger.markInFlight(['/cache/s/f1'], 'b2', 't2')).toBe(0); // again: no-op
  });

  it('a retry (same version, next attempt) claimed by another batch is not marked in flight by the failed batch', async () => {
    await ledger.claim('b1', [file(1)]);
    expect((await ledger.claim('b3', [file(1, { attempt: 2 })]))[0]!.outcome).toBe('claimed');
    expect(await ledger.markInFlight(['/cache/s/f1'], 'b1', 't1')).toBe(0);
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'batched', batchId: 'b3', attempt: 2 });
  });

  it('marks a chunk transferred and deleted in one round trip each, file by file (another version is left alone; again: no-op)', async () => {
    await ledger.claim('b1', [file(1), file(2), file(3)]);
    await ledger.markInFlight(['/cache/s/f1', '/cache/s/f2', '/cache/s/f3'], 'b1', 't1');
    const chunk = [1, 2, 3].map((n) => ({ path: `/cache/s/f${n}`, version: n === 3 ? file(99) : file(n), taskId: 't1', checksum: 'c' }));
    expect(await ledger.markTransferredMany(chunk)).toEqual([true, true, false]);
    expect(await ledger.markDeletedMany(chunk)).toEqual([true, true, false]);
    expect(await ledger.markDeletedMany(chunk)).toEqual([false, false, false]);
    expect((await ledger.getMany(['/cache/s/f1', '/cache/s/f3'])).map((r) => r?.state)).toEqual(['deleted', 'in_flight']);
    expect(await ledger.markDeletedMany([])).toEqual([]);
  });

  it('marks a batch in flight in one call: only batched records move, with the task and batch; again: none', async () => {
    await ledger.claim('b1', [file(1), file(2)]);
    expect(await ledger.markInFlight(['/cache/s/f1', '/cache/s/f2', '/cache/s/unknown'], 'b1', 't1', 1234)).toBe(2);
    expect(await ledger.markInFlight(['/cache/s/f1', '/cache/s/f2'], 'b1', 't1')).toBe(0);
    expect(await ledger.get('/cache/s/f2')).toMatchObject({ state: 'in_flight', taskId: 't1', batchId: 'b1', updatedAt: 1234 });
    expect(await ledger.get('/cache/s/unknown')).toBeNull();
    expect(await redis.pttl(ledger.key('/cache/s/f1'))).toBe(-1);
    expect(await ledger.markInFlight([], 'b1', 't1')).toBe(0);
  });

  it('treats a changed file (other size or mtime) as a new version', async () => {
    await ledger.claim('b1', [file(1)]);
    await ledger.markInFlight(['/cache/s/f1'], 'b1', 't1');
    await ledger.markTransferred('/cache/s/f1', 't1', null);
    const changed = file(1, { mtimeMs: 99_999 });
    expect(isTransferred(await ledger.get(changed.path), changed)).toBe(false);
    expect((await ledger.claim('b2', [changed]))[0]!.outcome).toBe('claimed');
  });

  it("requeues a failed task's files for the next attempt, then fails them", async () => {
    await ledger.claim('b1', [file(1)]);
    await ledger.markInFlight(['/cache/s/f1'], 'b1', 't1');
    expect(await ledger.markRequeued('/cache/s/f1', 2, 'FILE_NOT_FOUND')).toBe(true);
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'pending', attempt: 2, reason: 'FILE_NOT_FOUND', taskId: null });
    expect((await ledger.claim('b2', [file(1, { attempt: 2 })]))[0]!.outcome).toBe('claimed');
    expect(await ledger.markFailed(giveUp(1, { attempts: 2 }), DELAYS, 5000)).toEqual({ outcome: 'failed', giveUps: 1, resendAt: 5000 + 60_000 });
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'failed', reason: 'EXPIRED' });
  });

  describe('markFailed', () => {
    const DELAYS_MS = DELAYS;
    const inFlight = async (f: ClaimFile) => {
      await ledger.claim('b1', [f]);
      await ledger.markInFlight([f.path], 'b1', 't1');
    };

    it('fails only the upload the record still holds, and indexes it for a resend', async () => {
      await inFlight(file(1, { attempt: 3 }));
      // Another upload id, another size, an earlier attempt: the file moved on, nothing changes.
      expect(await ledger.markFailed(giveUp(1, { uploadId: 'other' }), DELAYS_MS, 1000)).toEqual({ outcome: 'other_upload' });
      expect(await ledger.markFailed(giveUp(1, { size: 999 }), DELAYS_MS, 1000)).toEqual({ outcome: 'other_upload' });
      expect(await ledger.markFailed(giveUp(1, { attempts: 2 }), DELAYS_MS, 1000)).toEqual({ outcome: 'other_upload' });
      expect(await ledger.markFailed(giveUp(7), DELAYS_MS, 1000)).toEqual({ outcome: 'not_live' });
      expect((await ledger.get('/cache/s/f1'))!.state).toBe('in_flight');
      expect(await redis.zcard(ledger.failedIndexKey)).toBe(0);

      expect(await ledger.markFailed(giveUp(1), DELAYS_MS, 1000)).toEqual({ outcome: 'failed', giveUps: 1, resendAt: 61_000 });
      expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'failed', reason: 'EXPIRED', attempt: 3, uploadId: 'u1', updatedAt: 1000 });
      // A redelivery changes nothing.
      expect(await ledger.markFailed(giveUp(1), DELAYS_MS, 9000)).toEqual({ outcome: 'already', giveUps: 1, resendAt: 61_000 });
      const page = await ledger.listFailed(0, 10);
      expect(page.total).toBe(1);
      expect(page.items).toEqual([expect.objectContaining({ path: '/cache/s/f1', detail: 'task t1 ended FAILED', failedAt: 1000, giveUps: 1, resendAt: 61_000 })]);
    });

    it('backs off per give-up of one version (capped), and starts again for a new version', async () => {
      let at = 0;
      const failRound = async (f: ClaimFile, uploadId: string) => {
        await inFlight({ ...f, uploadId, attempt: 3 });
        return ledger.markFailed(giveUp(1, { uploadId, size: f.size }), DELAYS_MS, (at += 1000));
      };
      expect(await failRound(file(1), 'r1')).toMatchObject({ giveUps: 1, resendAt: at + 60_000 });
      await ledger.notePending({ ...file(1), uploadId: 'r2' }); // the resend: failed → pending
      expect(await ledger.pruneFailed(['/cache/s/f1'])).toBe(1);
      expect(await failRound(file(1), 'r2')).toMatchObject({ giveUps: 2, resendAt: at + 120_000 });
      expect(await failRound(file(1), 'r3')).toMatchObject({ giveUps: 3, resendAt: at + 180_000 });
      expect(await failRound(file(1), 'r4')).toMatchObject({ giveUps: 4, resendAt: at + 180_000 });
      expect(await failRound(file(1, { size: 500 }), 'r5')).toMatchObject({ giveUps: 1, resendAt: at + 60_000 });
    });

    it('hands due resends out once (leased), defers, prunes lazily and counts exactly', async () => {
      for (const n of [1, 2, 3]) {
        await inFlight(file(n, { attempt: 3 }));
        await ledger.markFailed(giveUp(n), DELAYS_MS, n * 1000);
      }
      expect(await ledger.takeDueFailed(60_999, 100_000, 10)).toEqual([]);
      expect(await ledger.takeDueFailed(62_000, 100_000, 10)).toEqual(['/cache/s/f1', '/cache/s/f2']);
      expect(await ledger.takeDueFailed(62_000, 100_000, 10)).toEqual([]); // leased
      expect(await ledger.deferFailed('/cache/s/f1', 'u1', 'CACHE_FILE_MISSING', 'gone', 500_000)).toBe(true);
      expect(await ledger.deferFailed('/cache/s/f2', 'other', 'X', 'y', 500_000)).toBe(false);
      expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'failed', reason: 'CACHE_FILE_MISSING' });
      // f2 is sent again by someone else (the sweep, the log): its entry is stale until a reader drops it.
      await ledger.notePending(file(2, { uploadId: 'new' }));
      expect(await redis.zcard(ledger.failedIndexKey)).toBe(3);
      expect((await ledger.listFailed(0, 10)).items.map((i) => i.path)).toEqual(['/cache/s/f3', '/cache/s/f1']);
      expect(await ledger.countFailed()).toBe(2);
      expect(await redis.zcard(ledger.failedIndexKey)).toBe(2);
      expect(await ledger.resendFailedNow(undefined, 7)).toBe(2);
      expect(await ledger.resendFailedNow(['/cache/s/f2'], 7)).toBe(0);
      expect(await ledger.takeDueFailed(7, 100_000, 10)).toEqual(['/cache/s/f1', '/cache/s/f3']);
    });
  });

  it('lets a retry (higher attempt) re-claim a file stuck in a failed task', async () => {
    await ledger.claim('b1', [file(1)]);
    await ledger.markInFlight(['/cache/s/f1'], 'b1', 't1');
    expect((await ledger.claim('b2', [file(1)]))[0]!.outcome).toBe('in_flight');
    expect((await ledger.claim('b2', [file(1, { attempt: 2 })]))[0]!.outcome).toBe('claimed');
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'batched', batchId: 'b2', attempt: 2 });
    // The stale attempt cannot take it back.
    expect((await ledger.claim('b3', [file(1)]))[0]).toEqual({ path: '/cache/s/f1', outcome: 'in_batch', batchId: 'b2' });
  });

  it('notePending does not move an in-flight version backwards', async () => {
    await ledger.notePending(file(1));
    expect((await ledger.get('/cache/s/f1'))!.state).toBe('pending');
    await ledger.claim('b1', [file(1)]);
    await ledger.notePending(file(1));
    expect((await ledger.get('/cache/s/f1'))!.state).toBe('batched');
    await ledger.notePending(file(1, { size: 500 }));
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'pending', size: 500 });
  });

  it('notePendingMany and getVersions work on many paths at once', async () => {
    await ledger.claim('b1', [file(2)]);
    expect(await ledger.notePendingMany([file(1), file(2), file(3)])).toEqual([true, false, true]);
    const v = await ledger.getVersions(['/cache/s/f1', '/cache/s/f2', '/cache/s/none']);
    expect(v).toEqual([
      { state: 'pending', size: 11, mtimeMs: 1001, updatedAt: expect.any(Number) },
      { state: 'batched', size: 12, mtimeMs: 1002, updatedAt: expect.any(Number) },
      null,
    ]);
  });

  it('claims atomically when two batchers race for the same files', async () => {
    const files = Array.from({ length: 200 }, (_, i) => file(i));
    const other = new Redis(REDIS_URL);
    try {
      const l2 = new FileLedger(other, prefix);
      const [a, b] = await Promise.all([ledger.claim('A', files), l2.claim('B', [...files].reverse())]);
      const claimedA = a.filter((r) => r.outcome === 'claimed').length;
      const claimedB = b.filter((r) => r.outcome === 'claimed').length;
      expect(claimedA + claimedB).toBe(200);
    } finally {
      other.disconnect();
    }
  });

  it('a claim of a version the disk showed earlier never replaces the newer version’s record', async () => {
    const v1 = file(1);
    const v2 = file(1, { size: 99, mtimeMs: 5000, uploadId: 'u1-retry' });
    expect((await ledger.claim('b1', [{ ...v1, seenAt: 100 }]))[0]!.outcome).toBe('claimed');
    // The full version, seen on disk later, replaces the truncated one.
    expect((await ledger.claim('b2', [{ ...v2, seenAt: 200 }]))[0]!.outcome).toBe('claimed');
    // A redelivered event (or a retry) of v1, seen before v2 was: stale.
    expect((await ledger.claim('b3', [{ ...v1, seenAt: 150 }]))[0]).toEqual({ path: v1.path, outcome: 'superseded' });
    expect((await ledger.claim('b4', [{ ...v1, attempt: 2, seenAt: 190 }]))[0]!.outcome).toBe('superseded');
    expect(await ledger.get(v1.path)).toMatchObject({ state: 'batched', batchId: 'b2', size: 99, mtimeMs: 5000, uploadId: 'u1-retry' });
    // The same version is re-claimed by its own batch (recovery) whatever the sighting.
    expect((await ledger.claim('b2', [{ ...v2, seenAt: 10 }]))[0]!.outcome).toBe('claimed');
  });

  it('a file gone from the cache: recorded failed VANISHED (with a TTL) unless another version or a task holds the record', async () => {
    expect((await ledger.claim('b1', [{ ...file(1), onDisk: false, seenAt: 100 }]))[0]).toEqual({ path: '/cache/s/f1', outcome: 'vanished' });
    expect(await ledger.get('/cache/s/f1')).toMatchObject({ state: 'failed', reason: 'VANISHED', size: 11, uploadId: 'u1' });
    expect(await redis.pttl(ledger.key('/cache/s/f1'))).toBeGreaterThan(0);
    // A pending record of this version becomes failed too.
    await ledger.notePending(file(2));
    expect((await ledger.claim('b1', [{ ...file(2), onDisk: false }]))[0]!.outcome).toBe('vanished');
    expect(await ledger.get('/cache/s/f2')).toMatchObject({ state: 'failed', reason: 'VANISHED' });
    // Another version's record is left alone.
    await ledger.notePending(file(3, { size: 500 }));
    expect((await ledger.claim('b1', [{ ...file(3), onDisk: false }]))[0]!.outcome).toBe('vanished');
    expect(await ledger.get('/cache/s/f3')).toMatchObject({ state: 'pending', size: 500 });
    // A retry of a version whose task failed to deliver it, and the file is gone: failed too.
    await ledger.claim('b0', [file(5)]);
    await ledger.markInFlight(['/cache/s/f5'], 'b0', 't5');
    expect((await ledger.claim('b1', [{ ...file(5, { attempt: 2 }), onDisk: false }]))[0]!.outcome).toBe('vanished');
    expect(await ledger.get('/cache/s/f5')).toMatchObject({ state: 'failed', reason: 'VANISHED', attempt: 2 });
    // A version already transferred (the cleaner deleted it) is reported as such.
    await ledger.claim('b0', [file(4)]);
    await ledger.markTransferred('/cache/s/f4', 't', 'abc');
    expect((await ledger.claim('b1', [{ ...file(4), onDisk: false }]))[0]!.outcome).toBe('transferred');
    expect(await ledger.get('/cache/s/f4')).toMatchObject({ state: 'transferred' });
  });
});
