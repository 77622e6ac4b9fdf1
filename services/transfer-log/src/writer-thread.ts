import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TransientError, UpstreamUnavailableError, outsideTrace } from '@terra-transfer/platform';
import type { Delivery } from './core/events.js';
import type { TransferLogTelemetry } from './telemetry.js';
import type { FromWriter, PostedDelivery, ToWriter, WriteError, WriterOccurrence, WriterThreadData } from './writer-protocol.js';

/**
 * The worker's compiled entry. Beside this file in dist/; from the sources (jest runs them untranspiled
 * to disk) the build's copy, so the tests exercise the real thread (`make build` first, as `make test` does).
 */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.ts') ? fileURLToPath(new URL('../dist/writer-worker.js', import.meta.url)) : fileURLToPath(new URL('./writer-worker.js', import.meta.url));
  if (!existsSync(entry)) throw new Error(`the writer thread's entry ${entry} is missing: build the service first (make build)`);
  return entry;
}

const RESPAWN_DELAY_MS = 1_000;
/**
 * Deliveries are handed over in one message per SEND_WINDOW_MS (or per SEND_MAX deliveries): each message
 * costs a few microseconds whatever it holds, and at 5,000 deliveries/s a message per turn of the loop
 * carried a handful. A batch waits for BATCH_MAX_WAIT_MS anyway.
 */
const SEND_WINDOW_MS = 5;
const SEND_MAX = 500;

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The log's writer on a thread of its own (decision 0030): the main thread
 * keeps AMQP and HTTP, and hands each delivery to the writer thread, which
 * parses it, batches it and writes the batch (LogWriter, as before). A
 * delivery's promise resolves when the thread reports its batch committed, so
 * the consumer still acks after the commit; a failed batch rejects with the
 * same error classes as before (UpstreamUnavailableError: PostgreSQL down).
 *
 * Deliveries of a few milliseconds go over in one message, their bodies
 * copied into one transferred buffer. The thread's occurrences
 * (batches, raw events, failures) come back as messages and go through the
 * service's telemetry here, so /metrics shows them. If the thread dies, its
 * deliveries are given back (TransientError), the failure is logged and
 * counted, and a new thread starts.
 */
export class WriterThread {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private outbox: Array<{ seq: number; delivery: Delivery }> = [];
  private sendTimer: NodeJS.Timeout | undefined;
  private flushId = 0;
  private readonly flushes = new Map<number, () => void>();
  private newest: Date | undefined;
  private lastCommit: Date | undefined;
  private ready: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private respawn: NodeJS.Timeout | undefined;

  constructor(
    private readonly data: WriterThreadData,
    private readonly telemetry: TransferLogTelemetry,
    /** Bound on a clean stop (writing what is pending) before the thread is terminated. */
    private readonly stopTimeoutMs: number,
  ) {}

  /** Starts the thread; resolves once it runs. */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('the writer thread was stopped'));
    return (this.ready ??= this.spawn());
  }

  /** Whether the thread runs (readiness). */
  get running(): boolean {
    return this.worker !== undefined && !this.stopping;
  }

  /** Newest event time applied, and when the last batch committed. */
  get progress(): { newestEvent: Date | undefined; lastCommit: Date | undefined } {
    return { newestEvent: this.newest, lastCommit: this.lastCommit };
  }

  /** Deliveries handed over and not yet committed. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Records one delivery; resolves once it is committed (or was already in the log). Between a failed thread and its successor, deliveries wait here. */
  add(delivery: Delivery): Promise<void> {
    if (this.stopping || !this.ready) return Promise.reject(new TransientError('WRITER_STOPPED', 'the writer thread is not running'));
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.outbox.push({ seq, delivery });
      if (this.outbox.length >= SEND_MAX) this.send();
      // Outside the delivery's trace: the send is for every delivery of the window.
      else this.sendTimer ??= outsideTrace(() => setTimeout(() => this.send(), SEND_WINDOW_MS));
    });
  }

  /** Writes whatever was handed over so far, and waits for its commit (or failure). */
  async flush(): Promise<void> {
    this.send();
    const w = this.worker;
    if (!w) return;
    const id = ++this.flushId;
    const flushed = new Promise<void>((resolve) => this.flushes.set(id, resolve));
    this.post(w, { type: 'flush', id });
    await flushed;
  }

  /** Writes what is pending, closes the thread's pool and ends the thread. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.ready?.catch(() => undefined);
      const w = this.worker;
      this.stopping = true;
      if (this.respawn) clearTimeout(this.respawn);
      this.send();
      if (!w) {
        // Between threads: what waits for the next one goes back to the queue.
        const reason = new TransientError('WRITER_STOPPED', 'the writer thread was stopped');
        for (const p of this.waiting.values()) p.reject(reason);
        this.waiting.clear();
        this.outbox = [];
        return;
      }
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      this.post(w, { type: 'close' });
      const timer = setTimeout(() => void w.terminate(), this.stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    })();
    return this.stopped;
  }

  private spawn(): Promise<void> {
    const w = new Worker(workerEntry(), { workerData: this.data, name: 'transfer-log-writer' });
    this.worker = w;
    let failure: Error | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromWriter) => {
        if (m.type === 'ready') resolve();
        else this.receive(m);
      });
      w.on('error', (err) => {
        failure = err;
        reject(err);
      });
      w.once('exit', (code) => {
        reject(failure ?? new Error(`the writer thread exited (${code}) before it ran`));
        this.exited(w, failure ?? (code === 0 ? undefined : new Error(`the writer thread exited with code ${code}`)));
      });
    });
    return ready;
  }

  /** The thread ended: on stop, that is the end; otherwise its deliveries go back to the queue and a new thread starts. */
  private exited(w: Worker, err: Error | undefined): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    for (const resolve of this.flushes.values()) resolve();
    this.flushes.clear();
    const lost = this.waiting.size;
    if (this.stopping && lost === 0 && !err) return;
    // Handed to the dead thread: committed or not, unknown; given back (a redelivery changes nothing already written).
    // Not handed over yet (the outbox): they wait for the next thread.
    const reason = new TransientError('WRITER_THREAD_FAILED', `the writer thread ended: ${err?.message ?? 'exited'}`, { cause: err });
    const outboxed = new Set(this.outbox.map((o) => o.seq));
    for (const [seq, p] of this.waiting) {
      if (outboxed.has(seq)) continue;
      p.reject(reason);
      this.waiting.delete(seq);
    }
    this.telemetry.writerThreadFailed(err ?? reason, lost - outboxed.size);
    if (this.stopping) {
      for (const p of this.waiting.values()) p.reject(reason);
      this.waiting.clear();
      this.outbox = [];
      return;
    }
    // A pause, so a thread that cannot start does not spin.
    this.respawn = setTimeout(() => {
      this.respawn = undefined;
      this.ready = this.spawn();
      this.ready.catch(() => undefined);
      this.send();
    }, RESPAWN_DELAY_MS);
  }

  private send(): void {
    if (this.sendTimer) {
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
    }
    const w = this.worker;
    if (this.outbox.length === 0 || !w) return;
    const batch = this.outbox;
    this.outbox = [];
    // One buffer for the turn's bodies: a delivery's body may be a view of a larger socket buffer, which a structured clone would copy whole.
    let total = 0;
    for (const { delivery } of batch) total += delivery.body.length;
    const bodies = new ArrayBuffer(total);
    const view = new Uint8Array(bodies);
    const items: PostedDelivery[] = [];
    let offset = 0;
    for (const { seq, delivery } of batch) {
      view.set(delivery.body, offset);
      offset += delivery.body.length;
      items.push({ seq, length: delivery.body.length, routingKey: delivery.routingKey, messageId: delivery.messageId, timestamp: delivery.timestamp });
    }
    this.post(w, { type: 'deliveries', bodies, items }, [bodies]);
  }

  private post(w: Worker, m: ToWriter, transfer: ArrayBuffer[] = []): void {
    w.postMessage(m, transfer);
  }

  private receive(m: Exclude<FromWriter, { type: 'ready' }>): void {
    switch (m.type) {
      case 'settled':
        for (const seq of m.done) {
          this.waiting.get(seq)?.resolve();
          this.waiting.delete(seq);
        }
        for (const f of m.failed) {
          const err = toError(f.error);
          for (const seq of f.seqs) {
            this.waiting.get(seq)?.reject(err);
            this.waiting.delete(seq);
          }
        }
        return;
      case 'progress':
        if (m.newestEvent !== undefined) this.newest = new Date(m.newestEvent);
        if (m.lastCommit !== undefined) this.lastCommit = new Date(m.lastCommit);
        return;
      case 'telemetry':
        this.occurred(m.occurrence);
        return;
      case 'flushed':
        this.flushes.get(m.id)?.();
        this.flushes.delete(m.id);
        return;
      case 'closed':
        return;
    }
  }

  private occurred(o: WriterOccurrence): void {
    switch (o.name) {
      case 'batchWritten':
        this.telemetry.batchWritten(o.summary);
        return;
      case 'storedRaw':
        this.telemetry.storedRaw({ eventId: o.eventId, type: o.eventType, version: o.version }, o.status);
        return;
      case 'writeFailed':
        this.telemetry.writeFailed(o.code, o.message, o.events);
        return;
      case 'eventIsolated':
        this.telemetry.eventIsolated(o.eventId, o.outcome, o.err);
        return;
    }
  }
}

/** The writer's failure as the consumer's retry decision reads it (the error classes do not cross threads). */
function toError(e: WriteError): Error {
  const options = e.upstreamCode === undefined ? {} : { upstreamCode: e.upstreamCode };
  return e.kind === 'unavailable' ? new UpstreamUnavailableError('postgres', e.code, e.message, options) : new TransientError(e.code, e.message, options);
}
