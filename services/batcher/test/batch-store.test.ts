import { Redis } from 'ioredis';
import { REDIS_URL, deleteKeys, uniquePrefix } from '@terra-transfer/testkit';
import { BatchStore } from '../src/adapters/batch-store.js';

const manifest = (batchId: string) => ({
  batchId, destination: 'd', sourceEndpoint: 'src', destinationEndpoint: 'dst', label: 'l', deadline: '2030-01-01T00:00:00Z',
  createdAt: 1000, probedAt: 1000,
  files: [{ path: '/c/a', sourcePath: '/a', destinationPath: '/x/a', size: 1, mtimeMs: 1, uploadId: 'u', attempt: 1, site: 's', sensor: 'x' }],
});

describe('BatchStore transitions check where they start (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let store: BatchStore;
  beforeEach(() => {
    redis = new Redis(REDIS_URL);
    prefix = uniquePrefix('batch-store');
    store = new BatchStore(redis, prefix);
  });
  afterEach(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('stored → accepted → notified; a repeated step answers already', async () => {
    expect(await store.create(manifest('b1'))).toEqual({ outcome: 'moved' });
    expect(await store.open()).toEqual(['b1']);
    expect(await store.accepted('b1', 't1', 5)).toEqual({ outcome: 'moved' });
    expect(await store.accepted('b1', 't1', 6)).toEqual({ outcome: 'already' });
    expect(await store.close('b1', 'notified')).toEqual({ outcome: 'moved' });
    expect(await store.close('b1', 'notified')).toEqual({ outcome: 'already' });
    expect(await store.get('b1')).toMatchObject({ state: 'notified', taskId: 't1', acceptedAt: 5 });
    expect(await store.open()).toEqual([]);
    expect(await redis.ttl(`${prefix}:batch:b1`)).toBeGreaterThan(0);
  });

  it('refuses a transition from the wrong state and changes nothing', async () => {
    await store.create(manifest('b1'));
    // Not accepted yet: it cannot be notified.
    expect(await store.close('b1', 'notified')).toEqual({ outcome: 'refused', state: 'stored' });
    await store.accepted('b1', 't1');
    // Accepted: it can no longer close empty or rejected, nor be accepted with another task, nor be rewritten.
    expect(await store.close('b1', 'empty')).toEqual({ outcome: 'refused', state: 'accepted' });
    expect(await store.close('b1', 'rejected')).toEqual({ outcome: 'refused', state: 'accepted' });
    expect(await store.accepted('b1', 't2')).toEqual({ outcome: 'refused', state: 'accepted' });
    expect(await store.setFiles('b1', [])).toBe(false);
    expect(await store.renewDeadline('b1', '2031-01-01T00:00:00Z')).toBe(false);
    expect(await store.create(manifest('b1'))).toEqual({ outcome: 'refused', state: 'accepted' });
    const m = await store.get('b1');
    expect(m).toMatchObject({ state: 'accepted', taskId: 't1', deadline: '2030-01-01T00:00:00Z' });
    expect(m!.files).toHaveLength(1);
    expect(await store.open()).toEqual(['b1']);
    // Closed: nothing reopens it.
    await store.close('b1', 'notified');
    expect(await store.accepted('b1', 't1')).toEqual({ outcome: 'refused', state: 'notified' });
    expect(await store.state('b1')).toBe('notified');
  });

  it('refuses every transition of a batch that has no manifest', async () => {
    expect(await store.accepted('nope', 't1')).toEqual({ outcome: 'refused', state: null });
    expect(await store.close('nope', 'empty')).toEqual({ outcome: 'refused', state: null });
    expect(await redis.exists(`${prefix}:batch:nope`)).toBe(0);
  });

  it('a stored batch updates its files and deadline, and closes empty or rejected', async () => {
    await store.create(manifest('b1'));
    await store.create(manifest('b2'));
    expect(await store.setFiles('b1', [])).toBe(true);
    expect(await store.renewDeadline('b1', '2031-01-01T00:00:00Z')).toBe(true);
    expect(await store.get('b1')).toMatchObject({ files: [], deadline: '2031-01-01T00:00:00Z' });
    expect(await store.close('b1', 'empty')).toEqual({ outcome: 'moved' });
    expect(await store.close('b2', 'rejected')).toEqual({ outcome: 'moved' });
    expect(await store.open()).toEqual([]);
  });
});
