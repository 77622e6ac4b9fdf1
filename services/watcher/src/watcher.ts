import { createEvent, type Message, type MessageType, type TaskSubmittedData } from '@terra-transfer/contracts';
import { GlobusError, type GlobusClient } from '@terra-transfer/globus';
import { classify, type AmqpClient, type Logger } from '@terra-transfer/platform';
import type { TaskStore, TaskOutcome } from './adapters/task-store.js';
import { chunkBySite, type ChunkLimits } from './core/chunks.js';
import { decide, nextInterval, plan } from './core/decide.js';
import type { WatcherTelemetry } from './telemetry.js';

export type GlobusPort = Pick<GlobusClient, 'tasksById' | 'getTask' | 'allSuccessfulTransfers' | 'allSkippedErrors' | 'cancelTask'>;

export interface WatcherOptions {
  pollMinMs: number;
  pollMaxMs: number;
  stuckAfterMs: number;
  maxAttempts: number;
  completionConcurrency: number;
  /** How the arrived files of a task are cut into file.transferred chunks. */
  chunk: ChunkLimits;
  /** This instance's name among competing watchers (leases). */
  instanceId?: string;
}

const FIELDS = ['task_id', 'status', 'nice_status', 'faults', 'files_transferred', 'subtasks_pending', 'fatal_error', 'is_ok'];
/** A completion's lease; renewed every third of it while the completion runs. */
const COMPLETE_LEASE_MS = 60_000;
/** Outgoing events in flight at once (publisher-confirm window). */
const PUBLISH_WINDOW = 256;

/**
 * Watches every registered task with one task_list call per cycle (per 100
 * tasks), at an adaptive interval, and closes finished tasks by publishing
 * what arrived as file.transferred chunks (decision 0053), and one event per
 * file for the rest: file.uploaded (source retry, next attempt) or file.failed. All state is in
 * Redis, so a restart resumes where it stopped; a task is closed only after
 * all its events are confirmed (a crash before that publishes them again,
 * which consumers absorb).
 */
export class Watcher {
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private interval: number;
  private readonly completing = new Set<string>();
  private readonly instanceId: string;
  private leader = false;

  constructor(
    private readonly opts: WatcherOptions,
    private readonly deps: { globus: GlobusPort; store: TaskStore; amqp: AmqpClient; telemetry: WatcherTelemetry; logger: Logger },
  ) {
    this.interval = opts.pollMinMs;
    this.instanceId = opts.instanceId ?? `watcher-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** The poll lease outlives two of the longest intervals: a leader that died is replaced within that time. */
  private get pollLeaseMs(): number {
    return 2 * this.opts.pollMaxMs + 10_000;
  }

  /** Registers a task (idempotent) and wakes the poll loop. */
  async register(data: TaskSubmittedData, via: 'broker' | 'http'): Promise<void> {
    const isNew = await this.deps.store.register(data);
    this.deps.telemetry.registered(data.taskId, via, data.files.length, isNew);
    if (isNew) {
      this.interval = this.opts.pollMinMs;
      this.wake?.();
    }
  }

  start(): void {
    this.loop ??= this.run();
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    // Hand the polling over at once rather than after the lease lapses.
    if (this.leader) await this.deps.store.release('poll', this.instanceId).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const changed = await this.pollOnce();
        this.interval = nextInterval(this.interval, changed, this.opts.pollMinMs, this.opts.pollMaxMs);
      } catch (err) {
        this.interval = Math.min(this.opts.pollMaxMs, this.interval * 2);
        this.deps.telemetry.pollFailed(classify(err).message, this.interval);
      }
      this.deps.telemetry.interval(this.interval);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.interval);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One cycle: poll all watched tasks, act on each. Returns whether anything moved. */
  async pollOnce(): Promise<boolean> {
    const ids = await this.deps.store.active();
    this.deps.telemetry.watching(ids.length);
    if (ids.length === 0) return false;
    const records = new Map((await this.deps.store.statuses(ids)).map((r) => [r.taskId, r]));
    // Tasks found mid-completion (after a restart, or marked by another instance) are completed by whoever takes their lease.
    for (const r of records.values()) if (r.state === 'completing') this.complete(r.taskId, r.outcome ?? 'FAILED', r.outcomeReason);
    const watching = [...records.values()].filter((r) => r.state === 'watching');
    if (watching.length === 0) return false;
    // One instance polls Globus (the identity's request budget is shared); the others stand by and complete tasks.
    const leader = await this.deps.store.lease('poll', this.instanceId, this.pollLeaseMs);
    if (leader !== this.leader) this.deps.telemetry.pollLeader(this.instanceId, leader);
    this.leader = leader;
    if (!leader) return false;
    const summaries = await this.deps.globus.tasksById(watching.map((r) => r.taskId), FIELDS);
    const byId = new Map(summaries.map((s) => [s.task_id, s]));
    let changed = false;
    const now = Date.now();
    for (const r of watching) {
      const s = byId.get(r.taskId);
      if (!s) {
        changed = (await this.checkMissing(r.taskId)) || changed;
        continue;
      }
      const d = decide(s, r.troubledSince, now, this.opts.stuckAfterMs);
      if (s.status !== r.globusStatus || (s.nice_status ?? null) !== r.niceStatus) changed = true;
      if (d.action === 'complete') {
        const t = await this.deps.store.completing(r.taskId, d.status, r.cancelledFor ?? d.reason);
        if (t.outcome === 'refused') this.deps.telemetry.refused(r.taskId, 'completing', t.state);
        else this.complete(r.taskId, d.status, r.cancelledFor ?? d.reason);
        changed = true;
      } else if (d.action === 'cancel') {
        if (!r.cancelledFor) {
          this.deps.telemetry.cancelling(r.taskId, d.reason, now - (r.troubledSince ?? now));
          if (await this.deps.store.cancelled(r.taskId, d.reason)) await this.deps.globus.cancelTask(r.taskId);
          else this.deps.telemetry.refused(r.taskId, 'cancelled', (await this.deps.store.statuses([r.taskId]))[0]?.state ?? null);
        }
      } else {
        const troubledSince = d.troubled ? (r.troubledSince ?? now) : null;
        if (d.troubled && r.troubledSince === null) this.deps.telemetry.troubled(r.taskId, d.reason ?? '');
        if (!(await this.deps.store.observe(r.taskId, s.status ?? 'UNKNOWN', s.nice_status ?? null, troubledSince, d.reason))) {
          this.deps.telemetry.refused(r.taskId, 'observe', (await this.deps.store.statuses([r.taskId]))[0]?.state ?? null);
        }
      }
    }
    return changed;
  }

  /** task_list leaves out tasks it does not know: ask for the one task; a 404 closes it. */
  private async checkMissing(taskId: string): Promise<boolean> {
    try {
      const t = await this.deps.globus.getTask(taskId);
      return t.status !== 'ACTIVE';
    } catch (err) {
      if (err instanceof GlobusError && err.isNotFound) {
        this.deps.telemetry.notFound(taskId);
        const t = await this.deps.store.completing(taskId, 'NOT_FOUND', 'TASK_NOT_FOUND');
        if (t.outcome === 'refused') this.deps.telemetry.refused(taskId, 'completing', t.state);
        else this.complete(taskId, 'NOT_FOUND', 'TASK_NOT_FOUND');
        return true;
      }
      throw err;
    }
  }

  /** Runs a completion in the background (bounded concurrency); a failure leaves the task `completing` for the next cycle. */
  private complete(taskId: string, outcome: TaskOutcome, reason: string | null): void {
    if (this.completing.has(taskId) || this.completing.size >= this.opts.completionConcurrency) return;
    this.completing.add(taskId);
    void this.completeLeased(taskId, outcome, reason)
      .catch((err) => this.deps.telemetry.pollFailed(`completing ${taskId}: ${classify(err).message}`, this.interval))
      .finally(() => {
        this.completing.delete(taskId);
        this.wake?.();
      });
  }

  /** Completes the task under its lease: another instance completing it meanwhile is left to it. */
  private async completeLeased(taskId: string, outcome: TaskOutcome, reason: string | null): Promise<void> {
    const name = `complete:${taskId}`;
    if (!(await this.deps.store.lease(name, this.instanceId, COMPLETE_LEASE_MS))) return;
    // Kept alive while a big task's events go out.
    const keep = setInterval(() => void this.deps.store.lease(name, this.instanceId, COMPLETE_LEASE_MS).catch(() => undefined), COMPLETE_LEASE_MS / 3);
    try {
      await this.completeNow(taskId, outcome, reason);
    } finally {
      clearInterval(keep);
      await this.deps.store.release(name, this.instanceId).catch(() => undefined);
    }
  }

  async completeNow(taskId: string, outcome: TaskOutcome, reason: string | null): Promise<void> {
    const r = await this.deps.store.get(taskId);
    if (!r || r.state === 'closed') return;
    const files = r.data.files;
    const arrived = outcome === 'NOT_FOUND' ? [] : await this.deps.globus.allSuccessfulTransfers(taskId);
    const skipped = new Map<string, string>();
    if (outcome !== 'NOT_FOUND' && arrived.length < files.length) {
      for (const e of await this.deps.globus.allSkippedErrors(taskId)) if (e.source_path) skipped.set(e.source_path, e.error_code);
    }
    const p = plan(files, arrived, skipped, reason, this.opts.maxAttempts);
    const events: Array<Message<MessageType>> = [];
    const arrivedFiles = p.transferred.map(({ file, arrived: a }) => ({
      site: file.site,
      file: {
        sensor: file.sensor, path: file.path, sourcePath: file.sourcePath, destinationPath: a.destination_path ?? file.destinationPath,
        size: file.size, mtimeMs: file.mtimeMs, checksum: a.checksum, checksumAlgorithm: a.checksum_algorithm, uploadId: file.uploadId, attempt: file.attempt,
      },
    }));
    for (const c of chunkBySite(arrivedFiles, this.opts.chunk)) {
      events.push(createEvent('file.transferred', `file.transferred:${taskId}:${c.site}:${c.chunk}`.slice(0, 512), { site: c.site, taskId, chunk: c.chunk, files: c.files }));
    }
    for (const { file } of p.requeue) {
      events.push(createEvent('file.uploaded', `retry:${file.uploadId}:${file.attempt + 1}`.slice(0, 512), {
        site: file.site, sensor: file.sensor, path: file.path, size: file.size, mtimeMs: file.mtimeMs, ftpTime: null,
        source: 'retry', attempt: file.attempt + 1, uploadId: file.uploadId,
      }));
    }
    for (const { file, reason: why } of p.failed) {
      events.push(createEvent('file.failed', `file.failed:${file.uploadId}:${file.attempt}`.slice(0, 512), {
        site: file.site, sensor: file.sensor, path: file.path, size: file.size, uploadId: file.uploadId, attempts: file.attempt,
        reason: why, detail: `task ${taskId} ended ${outcome}${reason ? ` (${reason})` : ''}; attempt ${file.attempt} of ${this.opts.maxAttempts}`, lastTaskId: taskId,
      }));
      this.deps.telemetry.fileFailed(file.path, why, file.attempt, taskId);
    }
    for (let i = 0; i < events.length; i += PUBLISH_WINDOW) {
      await Promise.all(events.slice(i, i + PUBLISH_WINDOW).map((e) => this.deps.amqp.publish(e)));
    }
    const counts = { transferred: p.transferred.length, requeued: p.requeue.length, failed: p.failed.length };
    const t = await this.deps.store.closed(taskId, counts);
    if (t.outcome === 'refused') this.deps.telemetry.refused(taskId, 'closed', t.state);
    // Counted once: another instance that closed it first counted it.
    else if (t.outcome === 'moved') this.deps.telemetry.completed(taskId, outcome, r.data.submittedAt, counts);
  }
}
