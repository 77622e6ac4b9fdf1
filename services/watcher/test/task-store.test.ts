/** The task store's transitions check where they start, in the same atomic step (real Redis). */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { TaskSubmittedData } from '@terra-transfer/contracts';
import { closeRedis, createRedis, type Redis } from '@terra-transfer/platform';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { TaskStore } from '../src/adapters/task-store.js';

const task = (id: string) => ({ taskId: id, submissionId: `s-${id}`, site: 'ua-mac', files: [] }) as unknown as TaskSubmittedData;
const counts = { transferred: 2, requeued: 1, failed: 0 };

describe('TaskStore transitions', () => {
  let redis: Redis;
  let prefix: string;
  let store: TaskStore;
  beforeEach(() => {
    prefix = uniquePrefix('task-store');
    redis = createRedis({ url: REDIS_URL, connectionName: 'task-store-test', logger: testLogger() });
    store = new TaskStore(redis, prefix);
  });
  afterEach(async () => {
    await deleteKeys(prefix);
    await closeRedis(redis);
  });

  it('watching → completing → closed; a repeated step answers already', async () => {
    expect(await store.register(task('t1'), 1000)).toBe(true);
    expect(await store.observe('t1', 'ACTIVE', 'OK', null, null)).toBe(true);
    expect(await store.completing('t1', 'SUCCEEDED', null, 2000)).toEqual({ outcome: 'moved' });
    expect(await store.completing('t1', 'FAILED', 'x', 2001)).toEqual({ outcome: 'already' });
    expect(await store.get('t1')).toMatchObject({ state: 'completing', outcome: 'SUCCEEDED', globusStatus: 'SUCCEEDED' });
    expect(await store.closed('t1', counts, 3000)).toEqual({ outcome: 'moved' });
    expect(await store.closed('t1', counts, 3001)).toEqual({ outcome: 'already' });
    expect(await store.get('t1')).toMatchObject({ state: 'closed', completedAt: 3000, filesTransferred: 2, filesRequeued: 1 });
    expect(await store.active()).toEqual([]);
    expect(await store.countByState()).toEqual({ watching: 0, completing: 0, closed: 1 });
    expect(await redis.ttl(`${prefix}:task:t1`)).toBeGreaterThan(0);
  });

  it('refuses a transition from the wrong state and changes nothing', async () => {
    await store.register(task('t1'), 1000);
    // Still watching: it cannot close.
    expect(await store.closed('t1', counts, 2000)).toEqual({ outcome: 'refused', state: 'watching' });
    expect(await store.get('t1')).toMatchObject({ state: 'watching', completedAt: null, filesTransferred: 0 });
    expect(await store.active()).toEqual(['t1']);
    await store.completing('t1', 'FAILED', 'EXPIRED', 2000);
    // Completing: a late poll's view is not written over the outcome.
    expect(await store.observe('t1', 'ACTIVE', 'OK', null, null)).toBe(false);
    expect(await store.cancelled('t1', 'STUCK')).toBe(false);
    expect(await store.get('t1')).toMatchObject({ state: 'completing', globusStatus: 'FAILED', cancelledFor: null });
    await store.closed('t1', counts, 3000);
    // Closed: nothing reopens it.
    expect(await store.completing('t1', 'SUCCEEDED', null, 4000)).toEqual({ outcome: 'refused', state: 'closed' });
    expect(await store.get('t1')).toMatchObject({ state: 'closed', outcome: 'FAILED' });
    expect(await store.countByState()).toEqual({ watching: 0, completing: 0, closed: 1 });
  });

  it('refuses every transition of an unknown task, and writes no record for it', async () => {
    expect(await store.completing('nope', 'NOT_FOUND', 'TASK_NOT_FOUND')).toEqual({ outcome: 'refused', state: null });
    expect(await store.closed('nope', counts)).toEqual({ outcome: 'refused', state: null });
    expect(await store.observe('nope', 'ACTIVE', null, null, null)).toBe(false);
    expect(await redis.exists(`${prefix}:task:nope`)).toBe(0);
    expect(await store.countByState()).toEqual({ watching: 0, completing: 0, closed: 0 });
  });
});
