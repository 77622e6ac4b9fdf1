import { randomUUID } from 'node:crypto';
import { createEvent } from '@terra-transfer/contracts';
import type { FileLedger, VersionRecord } from '@terra-transfer/ledger';
import type { Redis } from 'ioredis';
import type { Logger } from '@terra-transfer/platform';
import { joinPath, sensorOf } from '@terra-transfer/site-layout';
import type { SweepStore } from './adapters/sweep-store.js';
import { walkOldFiles } from './adapters/walk-source.js';
import { findOldFiles } from './adapters/find-source.js';
import type { WalkStats, WalkedFile } from './adapters/walker.js';
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
  /** Who walks the tree: GNU find (default, ~2× faster on large trees) or the Node walker in a worker thread. */
  walker?: 'find' | 'node';
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
    done.catch((err: unknown) => deps.logger.error({ sweepId: id, err: String(err) }, 'sweep crashed'));
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
        this.deps.logger.warn({ err: String(err) }, 'sweep schedule check failed; retrying');
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
    await deps.store.saveStatus(status('running')).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not save sweep progress'));

    // The lock is refreshed while the sweep runs; losing it (Redis flushed, a long stall) stops the sweep.
    let lockLost = false;
    const refresher = setInterval(() => {
      deps.store.refresh(token, opts.lockTtlMs).then((ok) => {
        if (!ok) lockLost = true;
      }, () => undefined);
    }, Math.max(500, Math.floor(opts.lockTtlMs / 3)));

    const inflight = new Set<Promise<void>>();
    let publishError: unknown;
    const send = (f: WalkedFile) => {
      const path = joinPath(opts.cacheRoot, f.rel);
      // The raw lstat value, as the log-tailer publishes it, so both sources name a version alike.
      const mtimeMs = f.mtimeMs;
      const uploadId = sweepUploadId(path, f.size, mtimeMs);
      const sensor = sensorOf(f.rel);
      const p = (async () => {
        await deps.publish(createEvent('file.uploaded', uploadId, { site: opts.site, sensor, path, size: f.size, mtimeMs, ftpTime: null, source: 'sweep', attempt: 1, uploadId }));
        // Recorded after the confirm: a crash in between means the next sweep sends the same id again, which downstream recognises.
        await deps.ledger.notePending({ path, size: f.size, mtimeMs, uploadId, attempt: 1, site: opts.site, sensor });
      })().then(
        () => void inflight.delete(p),
        (err: unknown) => {
          inflight.delete(p);
          publishError ??= err;
        },
      );
      inflight.add(p);
    };

    let final: SweepStatus;
    const tally = Object.fromEntries(SWEEP_VERDICTS.map((v) => [v, 0])) as Record<SweepVerdict, number>;
    try {
      const now = startedAt;
      let lastProgress = this.now();
      let prev: Chunk | undefined;
      const settle = async (c: Chunk) => {
        const records = await c.records;
        for (let i = 0; i < c.old.length; i++) {
          const f = c.old[i]!;
          const v = sweepVerdict(f, records[i] ?? null, now, opts.minAgeMs);
          tally[v]++;
          if (isUntransferred(v) && f.mtimeMs < oldestMtime) oldestMtime = f.mtimeMs;
          if (isSend(v)) {
            while (inflight.size >= opts.publishWindow) await Promise.race(inflight);
            if (publishError) throw publishError;
            send(f);
          }
        }
      };
      const walk = opts.walker === 'node' ? walkOldFiles : findOldFiles;
      for await (const m of walk({ realRoot: opts.realRoot, whitelist: opts.whitelist, minAgeMs: opts.minAgeMs, now, chunk: opts.chunk })) {
        counts.scanned = m.scanned;
        tally.young = m.young;
        Object.assign(walkStats, m.stats);
        // Young files are not looked up: they count as untransferred (an upper bound, see the gauge's help).
        if (m.oldestYoungMtimeMs !== null && m.oldestYoungMtimeMs < oldestMtime) oldestMtime = m.oldestYoungMtimeMs;
        // The lookup of this chunk runs while the previous chunk is decided (and the worker walks on).
        let cur: Chunk | undefined;
        if (m.type === 'chunk' && m.files.length) {
          counts.old += m.files.length;
          const records = deps.ledger.getVersions(m.files.map((f) => joinPath(opts.cacheRoot, f.rel)));
          records.catch(() => undefined); // awaited in settle(); this only stops an unhandled-rejection report meanwhile
          cur = { old: m.files, records };
        }
        if (prev) await settle(prev);
        prev = cur;
        if (publishError) throw publishError;
        if (lockLost) throw new Error('sweep lock lost (expired or taken over); stopping');
        if (this.abort.signal.aborted) throw new Error('service shutting down; sweep stopped');
        if (this.now() - lastProgress >= (opts.progressEveryMs ?? 2000)) {
          lastProgress = this.now();
          Object.assign(counts, pickCounts(tally));
          await deps.store.saveStatus(status('running')).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not save sweep progress'));
        }
      }
      if (prev) await settle(prev);
      await Promise.all(inflight);
      if (publishError) throw publishError;
      Object.assign(counts, pickCounts(tally));
      final = status('succeeded');
    } catch (err) {
      await Promise.allSettled(inflight);
      Object.assign(counts, pickCounts(tally));
      final = status('failed', err instanceof Error ? err.message : String(err));
    } finally {
      clearInterval(refresher);
    }
    for (const v of SWEEP_VERDICTS) deps.telemetry.sweepFiles(v, tally[v]);
    await deps.store.saveStatus(final).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not save the sweep result'));
    await deps.store.release(token).catch(() => undefined);
    deps.telemetry.sweepFinished(final);
    return final;
  }
}

interface Chunk {
  old: WalkedFile[];
  records: Promise<Array<VersionRecord | null>>;
}

function pickCounts(t: Record<SweepVerdict, number>) {
  const sent = t.sent_no_record + t.sent_other_version + t.sent_stale;
  return { young: t.young, sent, sent_no_record: t.sent_no_record, sent_other_version: t.sent_other_version, sent_stale: t.sent_stale, recent_pending: t.recent_pending, in_flight: t.in_flight, transferred: t.transferred };
}
