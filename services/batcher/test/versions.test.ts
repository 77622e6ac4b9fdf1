import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLedger } from '@terra-transfer/ledger';
import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { failWith, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const ledgerOf = (pl: Pipeline) => new FileLedger(pl.redis, pl.prefix);

/** The broker's own view of a queue (management API): ready and unacknowledged messages. */
async function queueStats(queue: string): Promise<{ messages: number; unacked: number }> {
  const r = await fetch(`http://127.0.0.1:15672/api/queues/%2F/${encodeURIComponent(queue)}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const q = (await r.json()) as { messages_ready?: number; messages_unacknowledged?: number };
  return { messages: q.messages_ready ?? 0, unacked: q.messages_unacknowledged ?? 0 };
}

async function openBatches(pl: Pipeline): Promise<Array<{ batchId: string; state: string; files: number }>> {
  return (await (await fetch(`http://127.0.0.1:${pl.ports.batcher}/api/v1/batches/open`)).json()) as Array<{ batchId: string; state: string; files: number }>;
}

describe('the newest version of a file wins; a file gone from the cache is not sent', () => {
  it('a killed upload and its retry in one batch: the full version is submitted and recorded', async () => {
    p = await startPipeline({ batcher: { BATCH_MAX_WAIT_MS: '1000' } });
    const pl = p;
    const first = await pl.upload(1);
    // vsftpd logs the killed upload as complete with the truncated size; the retry writes the whole file a second later.
    const truncated = await pl.rewrite(first, 10, 1_700_000_000_000);
    const full = await pl.rewrite(first, 4096, 1_700_000_001_000, { uploadId: `${first.data.uploadId}:retry` });
    await pl.amqp.publish(truncated);
    await pl.amqp.publish(full);
    await waitFor('file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 1, 30_000).catch(failWith(pl));
    const [t] = await pl.drain('cleanerTransfers');
    expect(t!.body.data).toMatchObject({ path: first.data.path, size: 4096, mtimeMs: full.data.mtimeMs, uploadId: full.data.uploadId });
    expect((await readFile(join(pl.dest, t!.body.data.destinationPath))).length).toBe(4096);
    expect(await ledgerOf(pl).get(first.data.path)).toMatchObject({ size: 4096, mtimeMs: full.data.mtimeMs, uploadId: full.data.uploadId });
    expect(await pl.tasks()).toHaveLength(1);
    expect(await pl.metric('batcher', 'terra_transfer_files_skipped_total{reason="superseded"}')).toBe(1);
  });

  it('a file deleted from the cache before the claim is not submitted, is counted, and the ledger says why', async () => {
    p = await startPipeline();
    const pl = p;
    const good = await pl.upload(1);
    const gone = await pl.upload(2);
    await rm(gone.data.path);
    await pl.amqp.publish(good);
    await pl.amqp.publish(gone);
    await waitFor('file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 1, 30_000).catch(failWith(pl));
    const transferred = await pl.drain('cleanerTransfers');
    expect(transferred.map((t) => t.body.data.path)).toEqual([good.data.path]);
    expect(await pl.metric('batcher', 'terra_transfer_files_skipped_total{reason="vanished"}')).toBe(1);
    expect(pl.batcher.logged('file vanished from the cache before it was sent')).toEqual([expect.objectContaining({ uploadId: gone.data.uploadId })]);
    expect(await ledgerOf(pl).get(gone.data.path)).toMatchObject({ state: 'failed', reason: 'VANISHED', size: gone.data.size });
    // Acked, not dead-lettered: nothing left in the queue or its dead-letter queue.
    expect(await queueDepth(AMQP_URL, pl.queue('batcherUploads'))).toBe(0);
    expect(await queueDepth(AMQP_URL, pl.deadLetterQueue('batcherUploads'))).toBe(0);
    const tasks = await pl.tasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.files_transferred).toBe(1);
  });

  it('a retry of an old version arriving after the new version was claimed does not replace it', async () => {
    p = await startPipeline();
    const pl = p;
    const v1 = await pl.upload(1);
    const v2 = await pl.rewrite(v1, 2048, (await stat(v1.data.path)).mtimeMs + 5_000, { uploadId: `${v1.data.uploadId}:v2` });
    await pl.amqp.publish(v2);
    await waitFor('file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 1, 30_000).catch(failWith(pl));
    // The watcher (say, after an old task of v1 failed) sends v1 again.
    await pl.amqp.publish({ ...v1, id: `retry:${v1.data.uploadId}:2`, data: { ...v1.data, source: 'retry', attempt: 2 } });
    await waitFor('the retry handled', async () => (await pl.metric('batcher', 'terra_transfer_files_skipped_total{reason="superseded"}')) >= 1, 15_000).catch(failWith(pl));
    expect(await ledgerOf(pl).get(v1.data.path)).toMatchObject({ size: 2048, mtimeMs: v2.data.mtimeMs, uploadId: v2.data.uploadId });
    expect(await pl.tasks()).toHaveLength(1);
    const [t] = await pl.drain('cleanerTransfers');
    expect(t!.body.data).toMatchObject({ size: 2048 });
  });

  it('Globus unreachable while a batch is flushed: deliveries are acked once the batch is stored, not ready, then submitted when Globus is back', async () => {
    p = await startPipeline();
    const pl = p;
    const events = await Promise.all(Array.from({ length: 3 }, (_, i) => pl.upload(i)));
    await pl.sim.kill9();
    for (const e of events) await pl.amqp.publish(e);
    await waitFor('a stored batch', async () => (await openBatches(pl)).some((b) => b.state === 'stored' && b.files === 3), 15_000).catch(failWith(pl));
    const queue = pl.queue('batcherUploads');
    // The broker's management statistics lag by a few seconds.
    await waitFor('no delivery held', async () => {
      const s = await queueStats(queue);
      return s.unacked === 0 && s.messages === 0;
    }, 15_000).catch(failWith(pl));
    await waitFor('not ready', async () => (await fetch(`http://127.0.0.1:${pl.ports.batcher}/readyz`)).status === 503, 40_000).catch(failWith(pl));
    for (const e of events) expect(await ledgerOf(pl).get(e.data.path)).toMatchObject({ state: 'batched' });
    expect(await queueDepth(AMQP_URL, pl.deadLetterQueue('batcherUploads'))).toBe(0);

    pl.sim.start();
    await pl.sim.waitReady(pl.ports.sim);
    await waitFor('in flight', async () => {
      const rs = await Promise.all(events.map((e) => ledgerOf(pl).get(e.data.path)));
      return rs.every((r) => r?.state === 'in_flight' || r?.state === 'transferred');
    }, 60_000).catch(failWith(pl));
    await waitFor('ready again', async () => (await fetch(`http://127.0.0.1:${pl.ports.batcher}/readyz`)).status === 200, 30_000).catch(failWith(pl));
    expect(await pl.tasks()).toHaveLength(1);
    expect(await queueDepth(AMQP_URL, pl.deadLetterQueue('batcherUploads'))).toBe(0);
  });
});
