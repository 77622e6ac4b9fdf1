import { classify } from '@terra-transfer/platform';
import { recordDelivery, typeLabel, type Delivery, type RecordedEvent } from './core/events.js';
import { isDataError, writeFailure, type Pool } from './adapters/db.js';
import type { Partitions } from './adapters/partitions.js';
import { writeBatch, type BatchResult } from './adapters/store.js';
import type { BatchSummary, WriterTelemetry } from './telemetry.js';

interface Pending {
  event: RecordedEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface LogWriterOptions {
  batchSize: number;
  maxWaitMs: number;
}

/**
 * Gathers deliveries into batches (up to `batchSize`, or whatever came within
 * `maxWaitMs`) and writes each batch in one transaction; a delivery's promise
 * resolves only after its batch committed, so the consumer acks after the
 * commit. One batch is written at a time; the next fills meanwhile.
 */
export class LogWriter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private newest: Date | undefined;
  private lastCommit: Date | undefined;

  constructor(
    private readonly opts: LogWriterOptions,
    private readonly deps: { pool: Pool; partitions: Partitions; telemetry: WriterTelemetry },
  ) {}

  /** Records one delivery; resolves once it is committed (or was already in the log). */
  add(delivery: Delivery): Promise<void> {
    const event = recordDelivery(delivery);
    if (event.status !== 'valid') this.deps.telemetry.storedRaw(event, event.status);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      if (this.pending.length >= this.opts.batchSize) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.opts.maxWaitMs);
    });
  }

  /** Newest event time applied, and when the last batch committed. */
  get progress(): { newestEvent: Date | undefined; lastCommit: Date | undefined } {
    return { newestEvent: this.newest, lastCommit: this.lastCommit };
  }

  /** Events waiting for their batch (not yet committed). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Writes whatever is pending now (shutdown: the consumer drains its in-flight handlers). */
  async flush(): Promise<void> {
    this.kick();
    while (this.writing) await this.writing;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.writing || this.pending.length === 0) return;
    this.writing = this.writeNext().finally(() => {
      this.writing = undefined;
      if (this.pending.length >= this.opts.batchSize) this.kick();
      else if (this.pending.length > 0) this.timer ??= setTimeout(() => this.kick(), this.opts.maxWaitMs);
    });
  }

  private async writeNext(): Promise<void> {
    const batch = this.pending.splice(0, this.opts.batchSize);
    const started = process.hrtime.bigint();
    try {
      const result = await this.write(batch.map((p) => p.event));
      this.committed(batch.map((p) => p.event), result, Number(process.hrtime.bigint() - started) / 1e9);
      for (const p of batch) p.resolve();
    } catch (err) {
      const failure = await writeFailure(this.deps.pool, err);
      this.deps.telemetry.writeFailed(classify(failure).code, failure.message, batch.length);
      for (const p of batch) p.reject(failure);
    }
  }

  private async write(events: RecordedEvent[]): Promise<BatchResult> {
    await this.deps.partitions.ensureFor(events.map((e) => e.time));
    try {
      return await writeBatch(this.deps.pool, events);
    } catch (err) {
      if (!isDataError(err) || events.length === 0) throw err;
      return this.writeOneByOne(events);
    }
  }

  /**
   * PostgreSQL refused something in the batch (a value it cannot store): each
   * event is written alone so one bad event never holds the others, and one
   * refused even alone is kept as its bytes only. Nothing blocks the queue.
   */
  private async writeOneByOne(events: RecordedEvent[]): Promise<BatchResult> {
    const total: BatchResult = { inserted: [], duplicates: 0, arrivals: [], newest: undefined };
    for (const e of events) {
      let r: BatchResult;
      try {
        r = await writeBatch(this.deps.pool, [e]);
      } catch (err) {
        if (!isDataError(err)) throw err;
        const bytes: RecordedEvent = { ...e, status: 'not_storable', site: null, path: null, uploadId: null, taskId: null, json: null, event: undefined, type: e.type.replace(/[^\x20-\x7e]/g, '?'), raw: e.raw ?? Buffer.from(e.json ?? '') };
        r = await writeBatch(this.deps.pool, [bytes]);
        this.deps.telemetry.eventIsolated(e.eventId, 'stored_as_bytes', (err as Error).message);
      }
      total.inserted.push(...r.inserted);
      total.duplicates += r.duplicates;
      total.arrivals.push(...r.arrivals);
      if (r.newest && (!total.newest || r.newest > total.newest)) total.newest = r.newest;
    }
    return total;
  }

  private committed(events: RecordedEvent[], r: BatchResult, seconds: number): void {
    this.lastCommit = new Date();
    if (r.newest && (!this.newest || r.newest > this.newest)) this.newest = r.newest;
    this.deps.telemetry.batchWritten(summarise(events, r, seconds));
  }
}

/** A committed batch in sums: outcomes by type label, arrivals by site and sensor (what the metrics need, small enough to post). */
function summarise(events: readonly RecordedEvent[], r: BatchResult, seconds: number): BatchSummary {
  const outcomes = new Map<string, [string, string, number]>();
  const count = (type: string, outcome: string) => {
    const k = `${type}|${outcome}`;
    const o = outcomes.get(k);
    if (o) o[2]++;
    else outcomes.set(k, [type, outcome, 1]);
  };
  const written = new Set(r.inserted.map((e) => e.eventId));
  for (const e of r.inserted) count(typeLabel(e.type), e.status === 'valid' ? 'recorded' : e.status);
  // Whatever was not written for the first time (each inserted id once) was already in the log.
  for (const e of events) if (!written.delete(e.eventId)) count(typeLabel(e.type), 'duplicate');
  const arrivals = new Map<string, { site: string; sensor: string; files: number; bytes: number }>();
  for (const a of r.arrivals) {
    const k = `${a.site}\u0000${a.sensor}`;
    const s = arrivals.get(k) ?? { site: a.site, sensor: a.sensor, files: 0, bytes: 0 };
    s.files++;
    s.bytes += a.size;
    arrivals.set(k, s);
  }
  return { events: events.length, inserted: r.inserted.length, outcomes: [...outcomes.values()], arrivals: [...arrivals.values()], seconds };
}
