import { randomUUID } from 'node:crypto';
import { createEvent } from '@terra-transfer/contracts';
import type { ClaimFile, FileLedger, VersionRecord } from '@terra-transfer/ledger';
import type { Redis } from 'ioredis';
import type { Logger } from '@terra-transfer/platform';
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
    const token = await this.deps.store.acquire(this.opts.lockTtlMs);
    if (!token) {
      this.deps.telemetry.sweepSkipped(trigger);
      return null;
    }
    const id = randomUUID();
    const done = this.run(id, trigger, token).finally(() => {
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

  private async run(id: string, trigger: Trigger, token: string): Promise<SweepStatus> {
    const { opts, deps } = this;
    const startedAt = this.now();
    const counts = emptyCounts();
    const walkStats: WalkStats = { unreadableDirs: 0, skippedSpecial: 0, hidden: 0 };
    let unreadable: string[] = [];
    let oldestMtime = Infinity;
    const status = (state: SweepStatus['state'], error: string | null = null): SweepStatus => {
      const t = this.now();
      counts.skipped_special = walkStats.skippedSpecial;
      counts.hidden = walkStats.hidden;
      counts.unreadable_dirs = walkStats.unreadableDirs;
      return {
        id,
        trigger,
        state,
        startedAt: new Date(startedAt).toISOString(),
        updatedAt: new Date(t).toISOString(),
        finishedAt: state === 'running' ? null : new Date(t).toISOString(),
        durationSeconds: state === 'running' ? null : (t - startedAt) / 1000,
        minAgeMinutes: Math.round(opts.minAgeMs / 60_000),
        counts: { ...counts },
        oldestUntransferredAgeSeconds: Number.isFinite(oldestMtime) ? Math.max(0, (startedAt - oldestMtime) / 1000) : null,
        error,
      };
    };
    deps.telemetry.sweepStarted(id, trigger, Math.round(opts.minAgeMs / 60_000));
    // Progress is best effort; the sweep itself does not depend on it.
    await deps.store.saveStatus(status('running')).catch((err: unknown) => deps.logger.warn({ err }, 'could not save sweep progress'));

    // The lock is refreshed while the sweep runs; losing it (Redis flushed, a long stall) stops the sweep.
    let lockLost = false;
    const refresher = setInterval(() => {
      deps.store.refresh(token, opts.lockTtlMs).then((ok) => {
        if (!ok) lockLost = true;
      }, () => undefined);
    }, Math.max(500, Math.floor(opts.lockTtlMs / 3)));

    // Publishes in flight, and ledger writes of confirmed sends (batched: one script call per NOTE_BATCH files).
    const inflight = new Set<Promise<void>>();
    let publishError: unknown;
    let notes: ClaimFile[] = [];
    const track = (p: Promise<void>) => {
      const finished = () => {
        inflight.delete(t);
        const waiters = slotWaiters;
        slotWaiters = [];
        for (const w of waiters) w();
      };
      const t: Promise<void> = p.then(finished, (err: unknown) => {
        publishError ??= err;
        finished();
      });
      inflight.add(t);
    };
    let slotWaiters: Array<() => void> = [];
    /** Resolves when a publish or ledger write in flight finishes. */
    const slotFreed = () => new Promise<void>((r) => slotWaiters.push(r));
    const flushNotes = () => {
      if (notes.length === 0) return;
      const batch = notes;
      notes = [];
      track(deps.ledger.notePendingMany(batch).then(() => undefined));
    };
    const send = (f: WalkedFile) => {
      const path = joinPath(opts.cacheRoot, f.rel);
      // The raw lstat value, as the log-tailer publishes it, so both sources name a version alike.
      const mtimeMs = f.mtimeMs;
      const uploadId = sweepUploadId(path, f.size, mtimeMs);
      const sensor = sensorOf(f.rel);
      track(
        deps.publish(createEvent('file.uploaded', uploadId, { site: opts.site, sensor, path, size: f.size, mtimeMs, ftpTime: null, source: 'sweep', attempt: 1, uploadId })).then(() => {
          // Recorded after the confirm: a crash in between means the next sweep sends the same id again, which downstream recognises.
          notes.push({ path, size: f.size, mtimeMs, uploadId, attempt: 1, site: opts.site, sensor });
          if (notes.length >= NOTE_BATCH) flushNotes();
        }),
      );
    };
    /** Waits for every publish and ledger write, the last partial batch of notes included. */
    const drain = async () => {
      while (inflight.size > 0) await Promise.all(inflight);
      flushNotes();
      while (inflight.size > 0) await Promise.all(inflight);
    };

    let final: SweepStatus;
    const tally = Object.fromEntries(SWEEP_VERDICTS.map((v) => [v, 0])) as Record<SweepVerdict, number>;
    // The walk reads ahead of the decisions (up to MAX_CHUNKS_AHEAD chunks, their ledger lookups
    // already asked for), so find never waits on a pipe while publishes wait for confirms.
    const ahead: Chunk[] = [];
    let walkDone = false;
    let walkError: unknown;
    // Aborted when the sweep fails: the walk stops at once (find killed, worker terminated).
    const walkAbort = new AbortController();
    let wakeDecider: (() => void) | undefined;
    let wakeWalker: (() => void) | undefined;
    let walker: Promise<void> | undefined;
    try {
      const now = startedAt;
      let lastProgress = this.now();
      const settle = async (c: Chunk) => {
        const records = await c.records;
        for (let i = 0; i < c.old.length; i++) {
          const f = c.old[i]!;
          const v = sweepVerdict(f, records[i] ?? null, now, opts.minAgeMs);
          tally[v]++;
          if (isUntransferred(v) && f.mtimeMs < oldestMtime) oldestMtime = f.mtimeMs;
          if (isSend(v)) {
            while (inflight.size >= opts.publishWindow) await slotFreed();
            if (publishError) throw publishError;
            send(f);
          }
        }
      };
      walker = (async () => {
        try {
          for await (const m of findOldFiles({ realRoot: opts.realRoot, whitelist: opts.whitelist, minAgeMs: opts.minAgeMs, now, chunk: opts.chunk, signal: walkAbort.signal })) {
            counts.scanned = m.scanned;
            tally.young = m.young;
            Object.assign(walkStats, m.stats);
            unreadable = m.unreadable;
            // Young files are not looked up: they count as untransferred (an upper bound, see the gauge's help).
            if (m.oldestYoungMtimeMs !== null && m.oldestYoungMtimeMs < oldestMtime) oldestMtime = m.oldestYoungMtimeMs;
            if (m.type === 'chunk' && m.files.length) {
              counts.old += m.files.length;
              const records = deps.ledger.getVersions(m.files.map((f) => joinPath(opts.cacheRoot, f.rel)));
              records.catch(() => undefined); // awaited in settle(); this only stops an unhandled-rejection report meanwhile
              ahead.push({ old: m.files, records });
              wakeDecider?.();
            }
            while (ahead.length >= MAX_CHUNKS_AHEAD && !walkAbort.signal.aborted) await new Promise<void>((r) => (wakeWalker = r));
            if (walkAbort.signal.aborted) return;
          }
        } catch (err) {
          walkError = err;
        } finally {
          walkDone = true;
          wakeDecider?.();
        }
      })();
      for (;;) {
        const c = ahead.shift();
        if (!c) {
          if (walkDone) break;
          await new Promise<void>((r) => (wakeDecider = r));
          continue;
        }
        wakeWalker?.();
        await settle(c);
        if (publishError) throw publishError;
        if (lockLost) throw new Error('sweep lock lost (expired or taken over); stopping');
        if (this.abort.signal.aborted) throw new Error('service shutting down; sweep stopped');
        if (this.now() - lastProgress >= (opts.progressEveryMs ?? 2000)) {
          lastProgress = this.now();
          Object.assign(counts, pickCounts(tally));
          await deps.store.saveStatus(status('running')).catch((err: unknown) => deps.logger.warn({ err }, 'could not save sweep progress'));
        }
      }
      if (walkError) throw walkError;
      await drain();
      if (publishError) throw publishError;
      Object.assign(counts, pickCounts(tally));
      final = status('succeeded');
    } catch (err) {
      walkAbort.abort();
      wakeWalker?.();
      await walker;
      // What was confirmed is still recorded, so the next sweep does not send it again.
      await drain().catch(() => undefined);
      Object.assign(counts, pickCounts(tally));
      final = status('failed', err instanceof Error ? err.message : String(err));
    } finally {
      clearInterval(refresher);
    }
    for (const v of SWEEP_VERDICTS) deps.telemetry.sweepFiles(v, tally[v]);
    if (walkStats.unreadableDirs > 0) deps.telemetry.sweepUnreadable(id, walkStats.unreadableDirs, unreadable);
    await deps.store.saveStatus(final).catch((err: unknown) => deps.logger.warn({ err }, 'could not save the sweep result'));
    await deps.store.release(token).catch(() => undefined);
    deps.telemetry.sweepFinished(final);
    return final;
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
