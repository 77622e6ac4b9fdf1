import { randomUUID } from 'node:crypto';
import { createEvent } from '@terra-transfer/contracts';
import type { ClaimFile, FileLedger, VersionRecord } from '@terra-transfer/ledger';
import type { Redis } from 'ioredis';
import { Limiter, type Logger, type RedisLock } from '@terra-transfer/platform';
import { joinPath, sensorOf } from '@terra-transfer/site-layout';
import type { SweepStore } from './adapters/sweep-store.js';
import { findOldFiles, type WalkStats, type WalkedFile } from './adapters/find-walk.js';
import { sweepUploadId } from './core/ids.js';
import { nextSweepAt, type Schedule } from './core/schedule.js';
import { isSend, isUntransferred, SWEEP_VERDICTS, sweepVerdict, type SweepVerdict } from './core/sweep-policy.js';
import { emptyCounts, type SweepStatus } from './core/sweep-status.js';
import type { Publish } from './deleter.js';
import type { CleanerTelemetry } from './telemetry.js';

export interface SweeperOptions {
  site: string;
  /** Root as configured: the paths published are under it. */
  cacheRoot: string;
  /** Root after realpath: the walk reads there. */
  realRoot: string;
  whitelist: readonly string[];
  minAgeMs: number;
  chunk: number;
  publishWindow: number;
  lockTtlMs: number;
  schedule: Schedule;
  /** How often progress is written to Redis while a sweep runs. */
  progressEveryMs?: number;
}

export interface SweeperDeps {
  ledger: FileLedger;
  /** The ledger's Redis (the sweep reads records in bulk there). */
  redis: Redis;
  store: SweepStore;
  publish: Publish;
  telemetry: CleanerTelemetry;
  logger: Logger;
  now?: () => number;
}

export type Trigger = SweepStatus['trigger'];

/**
 * The 2-day sweep: walks the whitelisted directories as a stream, looks the
 * old files up in the ledger a chunk at a time, and publishes a file.uploaded
 * (source "sweep") for each old file nothing shows was sent. One sweep at a
 * time across replicas (Redis lock); progress and result in Redis.
 */
export class Sweeper {
  private current: Promise<SweepStatus> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(
    private readonly opts: SweeperOptions,
    private readonly deps: SweeperDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts a sweep in the background; null when one is already running (here or on another replica). */
  async start(trigger: Trigger): Promise<{ id: string; done: Promise<SweepStatus> } | null> {
    const deps = this.deps;
    if (this.closed || this.current) {
      if (this.current) this.deps.telemetry.sweepSkipped(trigger);
      return null;
    }
    const lock = await this.deps.store.acquire(this.opts.lockTtlMs);
    if (!lock) {
      this.deps.telemetry.sweepSkipped(trigger);
      return null;
    }
    const id = randomUUID();
    const done = this.run(id, trigger, lock).finally(() => {
      this.current = undefined;
    });
    // Callers may not await the result (HTTP answers 202, the schedule moves on): a failure must not become an unhandled rejection.
    done.catch((err: unknown) => deps.logger.error({ sweepId: id, err }, 'sweep crashed'));
    this.current = done;
    return { id, done };
  }

  latest(): Promise<SweepStatus | null> {
    return this.deps.store.latest();
  }

  /** Restores the gauges from the last successful sweep recorded in Redis (by any replica). */
  async restoreGauges(): Promise<void> {
    const last = await this.deps.store.lastSuccess();
    if (last) this.deps.telemetry.sweepRestored(last);
  }

  /** Runs scheduled sweeps; the last scheduled start lives in Redis, so restarts keep the rhythm. */
  startSchedule(): void {
    if (this.opts.schedule.intervalMs <= 0 && !this.opts.schedule.dailyAt) return;
    const tick = async () => {
      this.timer = undefined;
      if (this.closed) return;
      let waitMs = 60_000;
      try {
        const last = await this.deps.store.lastScheduledStart();
        const due = nextSweepAt(last, this.now(), this.opts.schedule);
        if (due !== null && due <= this.now()) {
          const started = await this.start('schedule');
          if (started) await this.deps.store.noteScheduledStart(this.now());
        } else if (due !== null) {
          waitMs = Math.min(waitMs, Math.max(1000, due - this.now()));
        }
      } catch (err) {
        this.deps.logger.warn({ err }, 'sweep schedule check failed; retrying');
      }
      if (!this.closed) this.timer = setTimeout(() => void tick(), waitMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** Stops the schedule and the running sweep (it stops between chunks). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.current?.catch(() => undefined);
  }

  private run(id: string, trigger: Trigger, lock: RedisLock): Promise<SweepStatus> {
    return new SweepRun(id, trigger, this.opts, this.deps, this.now, this.abort.signal).execute(lock);
  }
}

/**
 * One sweep, in named steps: walk (read ahead of the decisions), decide each
 * chunk (the verdicts of core/sweep-policy), send (a publish window of the
 * platform's Limiter; the walk waits for room, so at most `publishWindow`
 * sends exist at once), record the confirmed sends in the ledger in batches,
 * drain, report.
 */
class SweepRun {
  private readonly startedAt: number;
  private readonly counts = emptyCounts();
  private readonly walkStats: WalkStats = { unreadableDirs: 0, skippedSpecial: 0, hidden: 0 };
  private readonly tally = Object.fromEntries(SWEEP_VERDICTS.map((v) => [v, 0])) as Record<SweepVerdict, number>;
  private unreadable: string[] = [];
  private oldestMtime = Infinity;
  /** Publishes in flight and ledger writes of confirmed sends. */
  private readonly window: Limiter;
  /** Confirmed sends not yet recorded (one script call per NOTE_BATCH files). */
  private notes: ClaimFile[] = [];
  private publishError: unknown;
  private lastProgress: number;

  constructor(
    private readonly id: string,
    private readonly trigger: Trigger,
    private readonly opts: SweeperOptions,
    private readonly deps: SweeperDeps,
    private readonly now: () => number,
    private readonly stopping: AbortSignal,
  ) {
    this.startedAt = now();
    this.lastProgress = this.startedAt;
    this.window = new Limiter(opts.publishWindow);
  }

  async execute(lock: RedisLock): Promise<SweepStatus> {
    const { deps, opts } = this;
    deps.telemetry.sweepStarted(this.id, this.trigger, Math.round(opts.minAgeMs / 60_000));
    await this.saveStatus(this.status('running'), 'could not save sweep progress');
    let final: SweepStatus;
    try {
      for await (const chunk of readAhead((signal) => this.walk(signal), MAX_CHUNKS_AHEAD)) {
        await this.decide(chunk);
        this.check(lock);
        await this.progress();
      }
      await this.drain();
      if (this.publishError) throw this.publishError;
      final = this.status('succeeded');
    } catch (err) {
      // The walk has stopped (readAhead ends it). What was confirmed is still recorded, so the next sweep does not send it again.
      await this.drain().catch(() => undefined);
      final = this.status('failed', err instanceof Error ? err.message : String(err));
    }
    await this.report(final, lock);
    return final;
  }

  /** The walk's chunks of old files, each with its ledger lookup already asked for; totals kept current. */
  private async *walk(signal: AbortSignal): AsyncGenerator<Chunk> {
    const { opts, deps } = this;
    for await (const m of findOldFiles({ realRoot: opts.realRoot, whitelist: opts.whitelist, minAgeMs: opts.minAgeMs, now: this.startedAt, chunk: opts.chunk, signal })) {
      this.counts.scanned = m.scanned;
      this.tally.young = m.young;
      Object.assign(this.walkStats, m.stats);
      this.unreadable = m.unreadable;
      // Young files are not looked up: they count as untransferred (an upper bound, see the gauge's help).
      if (m.oldestYoungMtimeMs !== null && m.oldestYoungMtimeMs < this.oldestMtime) this.oldestMtime = m.oldestYoungMtimeMs;
      if (m.type !== 'chunk' || m.files.length === 0) continue;
      this.counts.old += m.files.length;
      const records = deps.ledger.getVersions(m.files.map((f) => joinPath(opts.cacheRoot, f.rel)));
      records.catch(() => undefined); // awaited in decide(); this only stops an unhandled-rejection report meanwhile
      yield { old: m.files, records };
    }
  }

  /** The verdict of each old file of a chunk; sends what nothing shows was sent. */
  private async decide(c: Chunk): Promise<void> {
    const records = await c.records;
    for (let i = 0; i < c.old.length; i++) {
      const f = c.old[i]!;
      const v = sweepVerdict(f, records[i] ?? null, this.startedAt, this.opts.minAgeMs);
      this.tally[v]++;
      if (isUntransferred(v) && f.mtimeMs < this.oldestMtime) this.oldestMtime = f.mtimeMs;
      if (isSend(v)) await this.send(f);
    }
  }

  /** Publishes one file.uploaded once the window has room; recorded in the ledger after the broker's confirm. */
  private async send(f: WalkedFile): Promise<void> {
    await this.window.room();
    if (this.publishError) throw this.publishError;
    const { opts } = this;
    const path = joinPath(opts.cacheRoot, f.rel);
    // The raw lstat value, as the log-tailer publishes it, so both sources name a version alike.
    const mtimeMs = f.mtimeMs;
    const uploadId = sweepUploadId(path, f.size, mtimeMs);
    const sensor = sensorOf(f.rel);
    const event = createEvent('file.uploaded', uploadId, { site: opts.site, sensor, path, size: f.size, mtimeMs, ftpTime: null, source: 'sweep', attempt: 1, uploadId });
    this.inWindow(async () => {
      await this.deps.publish(event);
      // Recorded after the confirm: a crash in between means the next sweep sends the same id again, which downstream recognises.
      this.notes.push({ path, size: f.size, mtimeMs, uploadId, attempt: 1, site: opts.site, sensor });
      if (this.notes.length >= NOTE_BATCH) this.flushNotes();
    });
  }

  /** Runs `task` in the publish window; its failure stops the sweep (after what is in flight). */
  private inWindow(task: () => Promise<void>): void {
    this.window.run(task).catch((err: unknown) => {
      this.publishError ??= err;
    });
  }

  private flushNotes(): void {
    if (this.notes.length === 0) return;
    const batch = this.notes;
    this.notes = [];
    this.inWindow(async () => {
      await this.deps.ledger.notePendingMany(batch);
    });
  }

  /** Waits for every publish and ledger write, the last partial batch of notes included. */
  private async drain(): Promise<void> {
    await this.window.idle();
    this.flushNotes();
    await this.window.idle();
  }

  /** Between chunks: a failed publish, a lost lock or a shutdown stops the sweep. */
  private check(lock: RedisLock): void {
    if (this.publishError) throw this.publishError;
    if (lock.lost) throw new Error('sweep lock lost (expired or taken over); stopping');
    if (this.stopping.aborted) throw new Error('service shutting down; sweep stopped');
  }

  /** Progress in Redis every `progressEveryMs` (best effort; the sweep does not depend on it). */
  private async progress(): Promise<void> {
    if (this.now() - this.lastProgress < (this.opts.progressEveryMs ?? 2000)) return;
    this.lastProgress = this.now();
    await this.saveStatus(this.status('running'), 'could not save sweep progress');
  }

  /**
   * Telemetry, the result in Redis, the lock released, in that order: whoever sees the result in Redis
   * (the status API, `terra sweep status`) then also sees the gauges it implies.
   */
  private async report(final: SweepStatus, lock: RedisLock): Promise<void> {
    const { deps } = this;
    for (const v of SWEEP_VERDICTS) deps.telemetry.sweepFiles(v, this.tally[v]);
    if (this.walkStats.unreadableDirs > 0) deps.telemetry.sweepUnreadable(this.id, this.walkStats.unreadableDirs, this.unreadable);
    deps.telemetry.sweepFinished(final);
    await this.saveStatus(final, 'could not save the sweep result');
    await lock.release().catch(() => undefined);
  }

  private async saveStatus(s: SweepStatus, failure: string): Promise<void> {
    await this.deps.store.saveStatus(s).catch((err: unknown) => this.deps.logger.warn({ err }, failure));
  }

  private status(state: SweepStatus['state'], error: string | null = null): SweepStatus {
    const t = this.now();
    const { startedAt } = this;
    Object.assign(this.counts, pickCounts(this.tally), {
      skipped_special: this.walkStats.skippedSpecial,
      hidden: this.walkStats.hidden,
      unreadable_dirs: this.walkStats.unreadableDirs,
    });
    return {
      id: this.id,
      trigger: this.trigger,
      state,
      startedAt: new Date(startedAt).toISOString(),
      updatedAt: new Date(t).toISOString(),
      finishedAt: state === 'running' ? null : new Date(t).toISOString(),
      durationSeconds: state === 'running' ? null : (t - startedAt) / 1000,
      minAgeMinutes: Math.round(this.opts.minAgeMs / 60_000),
      counts: { ...this.counts },
      oldestUntransferredAgeSeconds: Number.isFinite(this.oldestMtime) ? Math.max(0, (startedAt - this.oldestMtime) / 1000) : null,
      error,
    };
  }
}

/**
 * Reads `source` up to `depth` items ahead of the consumer, so the walk (find
 * writing into a pipe) never waits while the decisions wait for confirms.
 * The source's error is thrown once the items read before it are consumed.
 * When the consumer stops (done or failed), the source's signal aborts (find
 * is killed) and the reading ends before this generator returns.
 */
async function* readAhead<T>(source: (signal: AbortSignal) => AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const stop = new AbortController();
  const ahead: T[] = [];
  let done = false;
  let error: unknown;
  let wakeReader: (() => void) | undefined;
  let wakeConsumer: (() => void) | undefined;
  const reader = (async () => {
    try {
      for await (const item of source(stop.signal)) {
        ahead.push(item);
        wakeConsumer?.();
        while (ahead.length >= depth && !stop.signal.aborted) await new Promise<void>((r) => (wakeReader = r));
        if (stop.signal.aborted) return;
      }
    } catch (err) {
      error = err;
    } finally {
      done = true;
      wakeConsumer?.();
    }
  })();
  try {
    for (;;) {
      const item = ahead.shift();
      if (item !== undefined) {
        wakeReader?.();
        yield item;
      } else if (done) {
        if (error !== undefined) throw error;
        return;
      } else {
        await new Promise<void>((r) => (wakeConsumer = r));
      }
    }
  } finally {
    stop.abort();
    wakeReader?.();
    await reader;
  }
}

/** Confirmed sends recorded in the ledger per script call. */
const NOTE_BATCH = 500;

/** Chunks the walk may read ahead of the decisions (memory: this many chunks of old files). */
const MAX_CHUNKS_AHEAD = 4;

interface Chunk {
  old: WalkedFile[];
  records: Promise<Array<VersionRecord | null>>;
}

function pickCounts(t: Record<SweepVerdict, number>) {
  const sent = t.sent_no_record + t.sent_other_version + t.sent_stale;
  return { young: t.young, sent, sent_no_record: t.sent_no_record, sent_other_version: t.sent_other_version, sent_stale: t.sent_stale, recent_pending: t.recent_pending, in_flight: t.in_flight, transferred: t.transferred };
}
