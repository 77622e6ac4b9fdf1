import { Redis } from 'ioredis';
import { FileLedger, sameVersion, type ClaimFile } from '@terra-transfer/ledger';
import { REDIS_URL, deleteKeys, uniquePrefix } from '@terra-transfer/testkit';

/**
 * One convention for a version's mtime (whole milliseconds), judged the same
 * way by sameVersion and by the ledger's Lua scripts (claim, transition,
 * pending). The services' comparisons are tested against sameVersion in their
 * own tests.
 */
const MTIME = 1_733_500_000_123.5; // stat's mtimeMs carries a fraction
const SAME = 1_733_500_000_123; // the same millisecond, floored by a writer
const OTHER = 1_733_500_000_124.25; // the next millisecond

const file = (mtimeMs: number, over: Partial<ClaimFile> = {}): ClaimFile => ({
  path: '/cache/s/v', size: 42, mtimeMs, uploadId: 'u1', attempt: 1, site: 'ua-mac', sensor: 's', ...over,
});

describe('a file version', () => {
  it('compares mtime to the whole millisecond', () => {
    expect(sameVersion({ size: 42, mtimeMs: MTIME }, { size: 42, mtimeMs: SAME })).toBe(true);
    expect(sameVersion({ size: 42, mtimeMs: MTIME }, { size: 42, mtimeMs: 1_733_500_000_123.75 })).toBe(true);
    expect(sameVersion({ size: 42, mtimeMs: MTIME }, { size: 42, mtimeMs: OTHER })).toBe(false);
    expect(sameVersion({ size: 42, mtimeMs: MTIME }, { size: 43, mtimeMs: MTIME })).toBe(false);
  });

  describe('in the ledger scripts (real Redis)', () => {
    let redis: Redis;
    let prefix: string;
    let ledger: FileLedger;
    beforeEach(() => {
      redis = new Redis(REDIS_URL);
      prefix = uniquePrefix('ledger-version');
      ledger = new FileLedger(redis, prefix, 60_000);
    });
    afterEach(async () => {
      await deleteKeys(prefix);
      redis.disconnect();
    });

    it('claim: a sub-millisecond difference is the same version, the next millisecond another', async () => {
      expect((await ledger.claim('b1', [file(MTIME)]))[0]!.outcome).toBe('claimed');
      expect(await ledger.claim('b2', [file(SAME)])).toEqual([{ path: '/cache/s/v', outcome: 'in_batch', batchId: 'b1' }]);
      expect((await ledger.claim('b3', [file(OTHER)]))[0]!.outcome).toBe('claimed');
    });

    it('transition (markDeleted) and pending judge the same way', async () => {
      await ledger.claim('b1', [file(MTIME)]);
      expect(await ledger.notePending(file(SAME))).toBe(false); // already batched: left alone
      expect(await ledger.markDeleted('/cache/s/v', { size: 42, mtimeMs: OTHER }, 't1', null)).toBe(false);
      expect(await ledger.markDeleted('/cache/s/v', { size: 42, mtimeMs: SAME }, 't1', null)).toBe(true);
      const r = await ledger.get('/cache/s/v');
      expect(r).toMatchObject({ state: 'deleted', mtimeMs: MTIME }); // stored as it came
      expect(sameVersion(r!, { size: 42, mtimeMs: SAME })).toBe(true);
    });
  });
});
