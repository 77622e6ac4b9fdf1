import type { Worker } from 'node:worker_threads';
import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { freshDatabase, lifeOf, publishAll, startHarness, type Harness } from './harness.js';

// The writer runs on a thread of its own (src/writer-thread.ts, decision 0030): these tests hold it to the
// guarantees the in-thread writer gave: ack after commit, its figures on /metrics, failures surfaced, a complete stop.

let db: Awaited<ReturnType<typeof freshDatabase>>;
let h: Harness;
beforeAll(async () => {
  db = await freshDatabase();
  h = await startHarness(db.url);
});
afterAll(async () => {
  await h?.close();
  await db?.drop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const r = await h.pool.query<{ n: string }>(sql, params);
  return Number(r.rows[0]!.n);
}
/** The writer thread's own PostgreSQL sessions on this test's database (its pool names them). */
const writerSessions = () => count(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'transfer-log-writer'`, [db.name]);

it("writes on its own thread and pool; its batches and outcomes are on the service's /metrics; acks follow the commits", async () => {
  const queue = h.amqp.topology.queue('transferLog');
  await publishAll(h.amqp, [lifeOf(1).uploaded, lifeOf(1).transferred, lifeOf(2).uploaded]);
  await waitFor('3 events recorded', async () => (await count('SELECT count(*) AS n FROM events')) === 3);
  await waitFor('queue drained (acked)', async () => (await queueDepth(AMQP_URL, queue)) === 0);
  expect(await writerSessions()).toBeGreaterThan(0);
  await waitFor('the outcomes counted', async () => (await h.metric('terra_transfer_log_events_total', { type: 'file.uploaded', outcome: 'recorded' })) === 2);
  expect(await h.metric('terra_transfer_log_events_total', { type: 'file.transferred', outcome: 'recorded' })).toBe(1);
  expect(await h.metric('terra_transfer_bytes_total', { site: 'ua-mac', sensor: 'stereoTop' })).toBe(1001);
  const text = (await h.get('/metrics')).text;
  expect(text).toMatch(/terra_transfer_log_batch_events_count [1-9]/);
  expect(text).toMatch(/terra_transfer_log_lag_seconds \d/);
  expect((await h.get('/readyz')).body.checks).toMatchObject({ writer: true });
  expect((await h.get('/api/v1/status')).body).toMatchObject({ waiting: 0, behind: false });
});

it('a thread that dies is counted and logged, its deliveries go back to the queue, and a new thread writes them', async () => {
  // Reaching into the writer for its Worker: nothing else can make a thread die on demand.
  const worker = (h.log.writer as unknown as { worker: Worker }).worker;
  // Handed to the thread, still waiting for its batch (BATCH_MAX_WAIT_MS is 50 ms in the harness) when the thread dies.
  const handed = h.log.writer.add({ body: Buffer.from(JSON.stringify(lifeOf(9).uploaded)), routingKey: 'file.uploaded', messageId: undefined, timestamp: undefined });
  await new Promise((r) => setImmediate(r));
  await worker.terminate();
  // Given back: the consumer requeues it (committed or not, a redelivery changes nothing).
  await expect(handed).rejects.toMatchObject({ code: 'WRITER_THREAD_FAILED' });
  expect(await h.metric('terra_transfer_log_writer_thread_failures_total')).toBe(1);
  expect((await h.get('/readyz')).body.checks).toMatchObject({ writer: false });
  await publishAll(h.amqp, [lifeOf(3).uploaded, lifeOf(4).uploaded]);
  await waitFor('written by the next thread', async () => (await count('SELECT count(*) AS n FROM events')) === 5, 20_000);
  await waitFor('ready again', async () => (await h.get('/readyz')).body.checks.writer === true);
  expect((h.log.writer as unknown as { worker: Worker }).worker).not.toBe(worker);
  await waitFor('queue drained', async () => (await queueDepth(AMQP_URL, h.amqp.topology.queue('transferLog'))) === 0);
  expect(await queueDepth(AMQP_URL, h.amqp.topology.deadLetterQueue('transferLog'))).toBe(0);
});

it('stops completely and idempotently: pending events written, the thread ended, its connections closed', async () => {
  await publishAll(h.amqp, [lifeOf(5).uploaded, lifeOf(6).uploaded]);
  await waitFor('received', async () => h.log.writer.pending > 0 || (await count('SELECT count(*) AS n FROM events')) === 7);
  const first = h.log.stop();
  const second = h.log.stop();
  expect(second).toBe(first);
  await first;
  expect(await count('SELECT count(*) AS n FROM events')).toBe(7);
  expect(h.log.writer.running).toBe(false);
  expect(await writerSessions()).toBe(0);
  await expect(h.log.writer.add({ body: Buffer.from('{}'), routingKey: 'x', messageId: 'late', timestamp: undefined })).rejects.toMatchObject({ code: 'WRITER_STOPPED' });
  await h.log.writer.stop();
});
