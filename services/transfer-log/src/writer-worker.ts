/**
 * The writer thread's entry (node:worker_threads; started by writer-thread.ts).
 * It does the writer's CPU work away from the HTTP thread: parsing and
 * validating each delivery, folding the batch, building its statements'
 * parameters, and the PostgreSQL round trips. The main thread keeps the AMQP
 * channel and acks a delivery once this thread says its batch committed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { classify, isRetryCode, UpstreamUnavailableError, createLogger } from '@terra-transfer/platform';
import { createPool } from './adapters/db.js';
import { Partitions } from './adapters/partitions.js';
import type { Delivery } from './core/events.js';
import { LogWriter } from './log-writer.js';
import type { WriterTelemetry } from './telemetry.js';
import type { FromWriter, ToWriter, WriteError, WriterOccurrence, WriterThreadData } from './writer-protocol.js';

const port = parentPort;
if (!port) throw new Error('writer-worker.js runs as a worker thread (see writer-thread.ts), not on its own');
const data = workerData as WriterThreadData;
const post = (m: FromWriter) => port.postMessage(m);
const occurred = (occurrence: WriterOccurrence) => post({ type: 'telemetry', occurrence });

// Only the pool's "idle connection lost" warning logs from here; every other occurrence goes to the main thread.
const logger = createLogger({ service: 'transfer-log', level: data.logLevel }).child({ thread: 'writer' });
const pool = createPool({ ...data.pg, name: 'transfer-log-writer' }, logger);
const telemetry: WriterTelemetry = {
  batchWritten: (summary) => occurred({ name: 'batchWritten', summary }),
  storedRaw: (e, status) => occurred({ name: 'storedRaw', eventId: e.eventId, eventType: e.type, version: e.version, status }),
  writeFailed: (code, message, events) => occurred({ name: 'writeFailed', code, message, events }),
  eventIsolated: (eventId, outcome, err) => occurred({ name: 'eventIsolated', eventId, outcome, err }),
};
const writer = new LogWriter({ batchSize: data.batchSize, maxWaitMs: data.maxWaitMs }, { pool, partitions: new Partitions(pool, data.retentionDays, data.aheadDays), telemetry });

// Settlements are gathered and posted once per turn of the loop: a batch settles a thousand deliveries at once.
let done: number[] = [];
const failed = new Map<Error, { seqs: number[]; error: WriteError }>();
let scheduled = false;
function settle(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(sendSettled);
}
function sendSettled(): void {
  scheduled = false;
  if (done.length === 0 && failed.size === 0) return;
  const p = writer.progress;
  post({ type: 'progress', newestEvent: p.newestEvent?.getTime(), lastCommit: p.lastCommit?.getTime() });
  post({ type: 'settled', done, failed: [...failed.values()] });
  done = [];
  failed.clear();
}
/** Once what is pending is written: the settlements first (their callbacks run before the next turn), then the answer. */
async function afterFlush(): Promise<void> {
  await writer.flush();
  await new Promise((r) => setImmediate(r));
  sendSettled();
}

function writeError(err: unknown): WriteError {
  const message = err instanceof Error ? err.message : String(err);
  const upstreamCode = (err as { upstreamCode?: unknown } | null)?.upstreamCode;
  const upstream = typeof upstreamCode === 'string' ? { upstreamCode } : {};
  if (err instanceof UpstreamUnavailableError) return { kind: 'unavailable', code: err.code, message, ...upstream };
  const { code } = classify(err);
  return { kind: 'transient', code: isRetryCode(code) ? code : 'UNEXPECTED', message, ...upstream };
}

function record(m: Extract<ToWriter, { type: 'deliveries' }>): void {
  let offset = 0;
  for (const item of m.items) {
    const delivery: Delivery = { body: Buffer.from(m.bodies, offset, item.length), routingKey: item.routingKey, messageId: item.messageId, timestamp: item.timestamp };
    offset += item.length;
    writer.add(delivery).then(
      () => {
        done.push(item.seq);
        settle();
      },
      (err: Error) => {
        let f = failed.get(err);
        if (!f) failed.set(err, (f = { seqs: [], error: writeError(err) }));
        f.seqs.push(item.seq);
        settle();
      },
    );
  }
}

let closing: Promise<void> | undefined;
port.on('message', (m: ToWriter) => {
  switch (m.type) {
    case 'deliveries':
      record(m);
      return;
    case 'flush':
      void afterFlush().then(() => post({ type: 'flushed', id: m.id }));
      return;
    case 'close':
      closing ??= (async () => {
        await afterFlush();
        await pool.end();
        post({ type: 'closed' });
        port.close();
      })();
      return;
  }
});
post({ type: 'ready' });
