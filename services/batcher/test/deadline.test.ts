import { join } from 'node:path';
import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { failWith, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

/**
 * A batch re-submitted after its stored deadline passed (the batcher was
 * down, or Globus was, for longer than the task's life). The simulator, like
 * Globus, refuses a deadline in the past before it looks at the
 * submission_id; before the fix the batcher took that 400 as "refused for
 * good" and gave the files up (file.failed) even when Globus already held a
 * task for them.
 */
describe('deadlines on re-submission', () => {
  it.each([
    ['after-manifest', 'no task yet: submitted with a fresh, valid deadline'],
    ['after-submit', 'a task exists: resolved through its submission_id (Duplicate), never given up'],
  ])('batcher killed %s, stored deadline then passed: %s', async (at) => {
    p = await startPipeline({ startServices: false, batcher: { MAX_CONCURRENT_SUBMITS: '1' } });
    const pl = p;
    await pl.startWatcher();
    pl.batcher.start({ CRASH_AT: at });
    await pl.batcher.waitReady(pl.ports.batcher);
    const events = await Promise.all(Array.from({ length: 10 }, (_, i) => pl.upload(i)));
    for (const e of events) await pl.amqp.publish(e);
    expect(await pl.batcher.exited()).toBe('SIGKILL');
    const before = await pl.tasks();
    expect(before.length).toBe(at === 'after-submit' ? 1 : 0);

    // Time passes: the open batch's stored deadline is now an hour ago.
    const [batchId] = await pl.redis.zrange(`${pl.prefix}:batches:open`, 0, -1);
    expect(batchId).toBeDefined();
    const past = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    await pl.redis.hset(`${pl.prefix}:batch:${batchId}`, 'deadline', past);

    await pl.startBatcher();
    await waitFor('10 file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 10, 60_000).catch(failWith(pl));
    const transferred = await pl.drain('cleanerTransfers');
    expect(new Set(transferred.map((t) => t.body.data.path)).size).toBe(10);
    for (const t of transferred) expect(await pl.md5(join(pl.dest, t.body.data.destinationPath))).toBe(t.body.data.checksum);
    // Nothing given up, one task in all, and the batcher says what it did.
    expect(await pl.drain('failedFiles')).toHaveLength(0);
    const tasks = await pl.tasks();
    expect(tasks).toHaveLength(1);
    if (at === 'after-submit') expect(tasks[0]!.task_id).toBe(before[0]!.task_id);
    const task = await pl.globus.getTask(tasks[0]!.task_id);
    expect(Date.parse(task.deadline!)).toBeGreaterThan(Date.parse(past));
    expect(pl.batcher.logged('the batch’s deadline passed before Globus took it: submitting with a fresh deadline and the same submission_id').length).toBeGreaterThanOrEqual(1);
    expect(await pl.metric('batcher', 'terra_transfer_batcher_deadlines_renewed_total')).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
