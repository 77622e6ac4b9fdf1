import { join } from 'node:path';
import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { failWith, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});


/**
 * Every file arrived once: one task per batch, Globus moved each file once, and each file's bytes are at the destination.
 * `batches` is how the 20 files fall when nothing stalls (10 + 10); a stall longer than the batch age (0.3 s here,
 * seen at load 20–40) cuts a batch early, so more batches are allowed, never two tasks of one batch.
 */
async function expectExactlyOnce(pl: Pipeline, paths: string[], batches: number) {
  await waitFor(`${paths.length} file.transferred`, async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= paths.length, 60_000).catch(failWith(pl));
  const transferred = await pl.drain('cleanerTransfers');
  // file.transferred is at-least-once: a crash may repeat one, never lose one.
  expect([...new Set(transferred.map((t) => t.body.data.path))].sort()).toEqual([...paths].sort());
  const tasks = await pl.tasks();
  expect(tasks.length).toBeGreaterThanOrEqual(batches);
  const labels = tasks.map((t) => t.label);
  expect(new Set(labels).size).toBe(labels.length);
  expect(tasks.reduce((n, t) => n + (t.files_transferred ?? 0), 0)).toBe(paths.length);
  for (const t of transferred) expect(await pl.md5(join(pl.dest, t.body.data.destinationPath))).toBe(t.body.data.checksum);
}

describe('crash safety (kill -9)', () => {
  it.each(['after-manifest', 'after-submit'])('batcher killed %s: one task per batch, every file transferred once', async (at) => {
    // One submission at a time, so the crash point is exact: the second batch waits for the first.
    p = await startPipeline({ startServices: false, batcher: { MAX_CONCURRENT_SUBMITS: '1' } });
    const pl = p;
    await pl.startWatcher();
    // The first run dies at the crash point of its first batch.
    pl.batcher.start({ CRASH_AT: at });
    await pl.batcher.waitReady(pl.ports.batcher);
    const events = await Promise.all(Array.from({ length: 20 }, (_, i) => pl.upload(i)));
    for (const e of events) await pl.amqp.publish(e);
    expect(await pl.batcher.exited()).toBe('SIGKILL');
    // The crash point is where we think: before the submit Globus has nothing, after it one task.
    expect((await pl.tasks()).length).toBe(at === 'after-submit' ? 1 : 0);
    await pl.startBatcher();
    await expectExactlyOnce(pl, events.map((e) => e.data.path), 2);
    expect(pl.batcher.logged('driving an open batch forward (recovery)').length).toBeGreaterThanOrEqual(1);
  });

  it('watcher killed mid-poll: it resumes from Redis and every file is transferred once', async () => {
    // Slow copies keep the tasks active long enough to kill the watcher while it polls them.
    p = await startPipeline({ sim: { GLOBUS_SIM_BANDWIDTH_BYTES_PER_SEC: String(400 * 1024), GLOBUS_SIM_COPY_CONCURRENCY: '2' } });
    const pl = p;
    const events = await Promise.all(Array.from({ length: 20 }, (_, i) => pl.upload(i, { bytes: 100 * 1024 })));
    for (const e of events) await pl.amqp.publish(e);
    await waitFor('tasks being watched', async () => {
      const r = (await (await fetch(`http://127.0.0.1:${pl.ports.watcher}/api/v1/tasks?status=watching`)).json()) as { total: number };
      return r.total >= 1;
    }, 30_000).catch(failWith(pl));
    await new Promise((r) => setTimeout(r, 1_200)); // at least one poll cycle
    await pl.watcher.kill9();
    expect((await pl.tasks()).some((t) => t.status === 'ACTIVE')).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    await pl.startWatcher();
    await expectExactlyOnce(pl, events.map((e) => e.data.path), 2);
  });
});
