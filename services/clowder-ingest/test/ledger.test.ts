import { closeRedis, createRedis, sleep, type Redis } from '@terra-transfer/platform';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { Ledger } from '../src/adapters/ledger.js';

describe('Ledger (real Redis)', () => {
  const prefix = uniquePrefix('clowder-ledger');
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis({ url: REDIS_URL, connectionName: 'ledger-test', logger: testLogger() });
  });
  afterAll(async () => {
    await deleteKeys(prefix);
    await closeRedis(redis);
  });

  it('a lock admits one holder; others wait, then time out with a transient LOCK_TIMEOUT', async () => {
    const a = new Ledger(redis, prefix, 5_000, 200);
    const b = new Ledger(redis, prefix, 5_000, 200);
    const release = await a.lock('x');
    await expect(b.lock('x')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
    const waiting = b.lock('x');
    await sleep(30);
    await release();
    const releaseB = await waiting;
    await releaseB();
  });

  it('a live holder keeps its lock past the TTL (renewal)', async () => {
    const holder = new Ledger(redis, prefix, 300, 1_000);
    const release = await holder.lock('renewed');
    await sleep(900);
    await expect(new Ledger(redis, prefix, 300, 100).lock('renewed')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await release();
  });

  it('an expired holder cannot release the lock another worker now holds (fencing token)', async () => {
    const slow = new Ledger(redis, prefix, 200, 1_000);
    const other = new Ledger(redis, prefix, 5_000, 1_000);
    const releaseSlow = await slow.lock('y');
    // Simulates a holder that died (no renewal): its key expires.
    await redis.pexpire(`${prefix}:clowder-ingest:lock:y`, 1);
    await sleep(20);
    const releaseOther = await other.lock('y');
    await releaseSlow();
    const third = new Ledger(redis, prefix, 5_000, 100);
    await expect(third.lock('y')).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await releaseOther();
    await (await third.lock('y'))();
  });

  it('held() is true while the caller owns the lock, false once it expired or was released', async () => {
    const l = new Ledger(redis, prefix, 5_000, 1_000);
    const lock = await l.lock('fenced');
    expect(await lock.held()).toBe(true);
    await redis.pexpire(`${prefix}:clowder-ingest:lock:fenced`, 1);
    await sleep(20);
    const other = await new Ledger(redis, prefix, 5_000, 1_000).lock('fenced');
    expect(await lock.held()).toBe(false);
    expect(await other.held()).toBe(true);
    await other();
    expect(await other.held()).toBe(false);
    await lock();
  });

  it('records ids first-writer-wins, and file ids with their intents cleared in one step', async () => {
    const l = new Ledger(redis, prefix, 5_000, 1_000);
    expect(await l.setId('dataset', 's1', 'ds', '5a0000000000000000000001')).toBe('5a0000000000000000000001');
    expect(await l.setId('dataset', 's1', 'ds', '5a0000000000000000000002')).toBe('5a0000000000000000000001');
    expect(await l.getId('dataset', 's2', 'ds')).toBeUndefined();
    await l.addIntents('d1', ['/p/a', '/p/b']);
    await l.recordFiles('d1', new Map([['/p/a', 'f1']]));
    expect(await l.intents('d1')).toEqual(['/p/b']);
    expect(await l.fileIds('d1', ['/p/a', '/p/b'])).toEqual(['f1', undefined]);
    await l.recordFiles('d1', new Map([['/p/a', 'f2']]));
    expect(await l.fileIds('d1', ['/p/a'])).toEqual(['f1']);
    expect(await l.hasFileRecords('d1')).toBe(true);
    expect(await l.hasFileRecords('d2')).toBe(false);
  });
});
