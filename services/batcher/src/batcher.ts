import { randomUUID } from 'node:crypto';
import { createEvent, type FileUploaded, type TaskFile, type TaskSubmittedData } from '@terra-transfer/contracts';
import type { GlobusClient, SubmitResult } from '@terra-transfer/globus';
import { GlobusError } from '@terra-transfer/globus';
import type { ClaimResult, FileLedger } from '@terra-transfer/ledger';
import { PermanentError, TransientError, classify, sleep, type AmqpClient, type Consumer, type DeliveryContext, type Logger } from '@terra-transfer/platform';
import type { BatchStore, Manifest } from './adapters/batch-store.js';
import type { WatcherNotifier } from './adapters/watcher-notifier.js';
import { deadlineIso, flushReason, taskLabel, type BatchLimits, type FlushReason } from './core/batching.js';
import { route, type Destination } from './core/destinations.js';
import type { BatcherTelemetry } from './telemetry.js';

/** The Globus calls the batcher makes. */
export type GlobusPort = Pick<GlobusClient, 'submissionId' | 'submitTransfer' | 'taskList'>;

export interface BatcherOptions extends BatchLimits {
  site: string;
  cacheRoot: string;
  sourceEndpoint: string;
  sourceRoot: string;
  destinations: readonly Destination[];
  rules: 'terraref' | 'identity';
  maxConcurrentSubmits: number;
  maxPendingTasks: number;
  deadlineHours: number;
  skipSourceErrors: boolean;
  crashAt?: 'none' | 'after-manifest' | 'after-submit';
}

export interface BatcherDeps {
  globus: GlobusPort;
  store: BatchStore;
  ledger: FileLedger;
  amqp: AmqpClient;
  notifier: WatcherNotifier | undefined;
  telemetry: BatcherTelemetry;
  logger: Logger;
}

interface Entry {
  event: FileUploaded;
  file: TaskFile;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface OpenBatch {
  destination: Destination;
  entries: Entry[];
  bytes: number;
  openedAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Turns file.uploaded deliveries into Globus tasks. A delivery's handler
 * resolves (and the platform acks it) only once its file is in a task Globus
 * accepted and that task is recorded, or once it is known to be in flight or
 * transferred already.
 *
 * Crash safety: the manifest and its submission_id are written before any
 * file is claimed or anything is submitted; every open batch is driven
 * forward by `settle`, which is idempotent (claims by the same batch succeed
 * again, a resubmission with the same submission_id is answered Duplicate
 * with the original task). Recovery at start runs `settle` on every open
 * batch before consuming; redelivered events then find their batch closed.
 */
export class Batcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly settling = new Map<string, Promise<ClaimResult[]>>();
  private readonly abort = new AbortController();
  private submitting = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private pendingTasks = 0;
  private pendingCheckedAt = 0;
  private consumer: Consumer<'file.uploaded'> | undefined;
  private pausedForCapacity = false;
  private crashed = false;
  private shutdownHooked = false;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly deps: BatcherDeps,
  ) {}

  /** Drives every open batch left by an earlier run to its end. Call before consuming. */
  async recover(): Promise<void> {
    for (const batchId of await this.deps.store.open()) {
      const state = await this.deps.store.state(batchId);
      this.deps.telemetry.recovered(batchId, state ?? 'missing');
      await this.settleOnce(batchId, 'recovery');
    }
  }

  /** Starts consuming file.uploaded. */
  start(): Consumer<'file.uploaded'> {
    const prefetch = this.opts.maxFiles * (this.opts.maxConcurrentSubmits + 1);
    this.consumer = this.deps.amqp.consume('batcherUploads', 'file.uploaded', (e, ctx) => this.handle(e, ctx), { prefetch: Math.min(prefetch, 65_535) });
    return this.consumer;
  }

  /** Checks Globus answers (and how many tasks are unfinished): the readiness gate before consuming. */
  async checkUpstream(): Promise<void> {
    await this.refreshPending(true);
  }

  /** Stops timers and lets waiting batches give up (their files are redelivered). */
  close(): void {
    this.abort.abort();
    for (const b of this.open.values()) clearTimeout(b.timer);
  }

  handle(event: FileUploaded, ctx: DeliveryContext): Promise<void> {
    const r = route(event.data.path, { cacheRoot: this.opts.cacheRoot, sourceRoot: this.opts.sourceRoot, destinations: this.opts.destinations, rules: this.opts.rules });
    if (!r) {
      return Promise.reject(new PermanentError('NO_DESTINATION', `no destination takes ${event.data.path}: outside the cache root ${this.opts.cacheRoot} or no include prefix matches`));
    }
    const d = event.data;
    const file: TaskFile = {
      path: d.path, sourcePath: r.sourcePath, destinationPath: r.destinationPath, size: d.size, mtimeMs: d.mtimeMs,
      site: d.site, sensor: d.sensor, uploadId: d.uploadId, attempt: d.attempt,
    };
    return new Promise<void>((resolve, reject) => {
      const now = Date.now();
      let b = this.open.get(r.destination.name);
      if (!b) {
        b = { destination: r.destination, entries: [], bytes: 0, openedAt: now, timer: setTimeout(() => this.flush(r.destination.name, 'age'), this.opts.maxWaitMs) };
        this.open.set(r.destination.name, b);
      }
      b.entries.push({ event, file, resolve, reject });
      b.bytes += file.size;
      const reason = flushReason({ files: b.entries.length, bytes: b.bytes, openedAt: b.openedAt }, this.opts, now);
      if (reason) this.flush(r.destination.name, reason);
      if (!this.shutdownHooked) {
        // On shutdown, submit what is open now rather than wait for batches to fill.
        this.shutdownHooked = true;
        ctx.signal.addEventListener('abort', () => this.flushAll('shutdown'), { once: true });
      }
    });
  }

  flushAll(reason: FlushReason): void {
    for (const name of [...this.open.keys()]) this.flush(name, reason);
  }

  private flush(destination: string, reason: FlushReason): void {
    const b = this.open.get(destination);
    if (!b) return;
    this.open.delete(destination);
    clearTimeout(b.timer);
    this.deps.telemetry.flushed(destination, reason, b.entries.length, Date.now() - b.openedAt);
    void this.submitBatch(b, reason);
  }

  private async submitBatch(b: OpenBatch, reason: FlushReason): Promise<void> {
    const flushedAt = Date.now();
    try {
      await this.acquireSlot();
      try {
        // The same file may be in a batch twice (a duplicated event): keep the newest attempt.
        const byPath = new Map<string, TaskFile>();
        for (const e of b.entries) {
          const prev = byPath.get(e.file.path);
          if (!prev || prev.attempt < e.file.attempt) byPath.set(e.file.path, e.file);
        }
        const files = [...byPath.values()];
        const batchId = randomUUID();
        const submissionId = await this.retrying(batchId, () => this.deps.globus.submissionId());
        await this.deps.store.create({
          batchId, submissionId, destination: b.destination.name, sourceEndpoint: this.opts.sourceEndpoint, destinationEndpoint: b.destination.endpoint,
          label: taskLabel(this.opts.site, b.destination.name, batchId, files.length), deadline: deadlineIso(Date.now(), this.opts.deadlineHours),
          createdAt: Date.now(), files,
        });
        this.crashPoint('after-manifest');
        const results = await this.settleOnce(batchId, reason, flushedAt);
        const outcome = new Map(results.map((r) => [r.path, r]));
        await Promise.all(b.entries.map((e) => this.settleEntry(e, outcome.get(e.file.path), batchId)));
      } finally {
        this.releaseSlot();
      }
    } catch (err) {
      for (const e of b.entries) e.reject(err);
    }
  }

  /** Resolves one delivery according to what the claim found for its file. */
  private async settleEntry(e: Entry, r: ClaimResult | undefined, batchId: string): Promise<void> {
    try {
      if (!r) throw new TransientError('NOT_IN_BATCH', `${e.file.path} missing from batch ${batchId}`);
      switch (r.outcome) {
        case 'claimed':
          break;
        case 'in_flight':
          this.deps.telemetry.skipped('in_flight', e.file.path);
          break;
        case 'transferred':
          this.deps.telemetry.skipped('transferred', e.file.path);
          break;
        case 'in_batch': {
          // Another batch holds this version (a redelivery after a crash, or a duplicate event): ack once that batch is settled.
          const other = await this.settleOnce(r.batchId, 'redelivery');
          if (!other.some((o) => o.path === e.file.path && o.outcome === 'claimed')) {
            throw new TransientError('BATCH_MOVED', `${e.file.path} left batch ${r.batchId}; retrying`);
          }
          this.deps.telemetry.skipped('superseded', e.file.path);
          break;
        }
      }
      e.resolve();
    } catch (err) {
      e.reject(err);
    }
  }

  /** One settlement per batch at a time in this process; concurrent callers share it. */
  private settleOnce(batchId: string, reason: string, flushedAt = Date.now()): Promise<ClaimResult[]> {
    let p = this.settling.get(batchId);
    if (!p) {
      p = this.settle(batchId, reason, flushedAt).finally(() => this.settling.delete(batchId));
      this.settling.set(batchId, p);
    }
    return p;
  }

  /**
   * stored → (claim, prune, submit) → accepted → (mark in flight, publish
   * task.submitted, tell the watcher) → notified. Every step can be repeated.
   */
  private async settle(batchId: string, reason: string, flushedAt: number): Promise<ClaimResult[]> {
    const m = await this.deps.store.get(batchId);
    if (!m) throw new TransientError('BATCH_MISSING', `batch ${batchId} has no manifest`);
    if (m.state === 'empty') return m.files.map((f) => ({ path: f.path, outcome: 'transferred' as const }));
    let results: ClaimResult[] = m.files.map((f) => ({ path: f.path, outcome: 'claimed' as const }));
    if (m.state === 'stored') {
      results = await this.deps.ledger.claim(batchId, m.files);
      const claimed = m.files.filter((_, i) => results[i]!.outcome === 'claimed');
      if (claimed.length === 0) {
        await this.deps.store.close(batchId, 'empty');
        this.deps.telemetry.empty(batchId);
        return results;
      }
      if (claimed.length < m.files.length) {
        await this.deps.store.setFiles(batchId, claimed);
        m.files = claimed;
      }
      await this.waitForCapacity();
      const res = await this.submit(m);
      this.crashPoint('after-submit');
      await this.deps.store.accepted(batchId, res.taskId);
      m.taskId = res.taskId;
      m.state = 'accepted';
      this.deps.telemetry.accepted(batchId, m.destination, reason, res.taskId, res.code, m.files.length, Date.now() - flushedAt);
    }
    if (m.state === 'accepted') {
      const taskId = m.taskId!;
      await this.deps.ledger.markInFlight(m.files.map((f) => f.path), batchId, taskId);
      const data: TaskSubmittedData = {
        taskId, submissionId: m.submissionId, batchId, label: m.label, sourceEndpoint: m.sourceEndpoint,
        destinationEndpoint: m.destinationEndpoint, submittedAt: new Date(m.acceptedAt ?? Date.now()).toISOString(), files: m.files,
      };
      await this.deps.amqp.publish(createEvent('task.submitted', `task.submitted:${taskId}`, data));
      if (this.deps.notifier) await this.retrying(batchId, () => this.deps.notifier!.notify(data));
      this.deps.telemetry.notified(taskId, this.deps.notifier ? 'broker+http' : 'broker');
      await this.deps.store.close(batchId, 'notified');
    }
    return results;
  }

  private async submit(m: Manifest): Promise<SubmitResult> {
    try {
      return await this.retrying(m.batchId, () =>
        this.deps.globus.submitTransfer({
          submission_id: m.submissionId,
          source_endpoint: m.sourceEndpoint,
          destination_endpoint: m.destinationEndpoint,
          label: m.label,
          deadline: m.deadline,
          verify_checksum: true,
          skip_source_errors: this.opts.skipSourceErrors,
          notify_on_succeeded: false,
          notify_on_failed: false,
          notify_on_inactive: false,
          DATA: m.files.map((f) => ({ DATA_TYPE: 'transfer_item' as const, source_path: f.sourcePath, destination_path: f.destinationPath, recursive: false })),
        }),
      );
    } catch (err) {
      if (err instanceof GlobusError && !err.retryable && !err.isEndpointError) {
        // Globus will never take this document (bad request, consent, unknown endpoint): the files go back to
        // pending and their deliveries are dead-lettered with the reason, for an operator to fix and resend.
        this.deps.telemetry.rejected(m.batchId, err.code, err.message);
        await Promise.all(m.files.map((f) => this.deps.ledger.markRequeued(f.path, f.attempt, err.code)));
        await this.deps.store.close(m.batchId, 'empty');
        throw new PermanentError(`GLOBUS_${err.code}`.slice(0, 64), err.message);
      }
      throw err;
    }
  }

  /**
   * Retries a Globus (or watcher) call until it succeeds, it fails
   * permanently, or the service shuts down. The client already applied the
   * SDK's short retries; this is the slow outer loop (an endpoint that is
   * down for an hour must not cost anybody a file).
   */
  private async retrying<T>(batchId: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const endpointDown = err instanceof GlobusError && err.isEndpointError;
        const c = classify(err);
        if (!c.retryable && !endpointDown) throw err;
        if (this.abort.signal.aborted) throw new TransientError('SHUTTING_DOWN', `gave up on batch ${batchId} for shutdown: ${c.message}`);
        const delay = Math.min(endpointDown ? 300_000 : 60_000, 1_000 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.deps.telemetry.submitRetry(batchId, c.code, c.message, Math.round(delay));
        await sleep(delay, this.abort.signal);
      }
    }
  }

  /** Backpressure: wait (consumption paused) while the Globus identity has too many unfinished tasks. */
  private async waitForCapacity(): Promise<void> {
    for (;;) {
      await this.refreshPending(this.pendingTasks >= this.opts.maxPendingTasks);
      if (this.pendingTasks < this.opts.maxPendingTasks) {
        this.pendingTasks++; // ours, until the next count
        if (this.pausedForCapacity) {
          this.pausedForCapacity = false;
          await this.consumer?.resume();
          this.deps.telemetry.paused(false, this.pendingTasks, this.opts.maxPendingTasks);
        }
        return;
      }
      if (!this.pausedForCapacity) {
        this.pausedForCapacity = true;
        await this.consumer?.pause();
        this.deps.telemetry.paused(true, this.pendingTasks, this.opts.maxPendingTasks);
      }
      if (this.abort.signal.aborted) throw new TransientError('SHUTTING_DOWN', 'shutdown while waiting for Globus capacity');
      await sleep(5_000, this.abort.signal);
    }
  }

  private async refreshPending(force: boolean): Promise<void> {
    if (!force && Date.now() - this.pendingCheckedAt < 10_000) return;
    const list = await this.retrying('capacity', () =>
      this.deps.globus.taskList({ filter: 'type:TRANSFER/status:ACTIVE,INACTIVE', fields: ['task_id'], limit: 1 }),
    );
    this.pendingTasks = list.total;
    this.pendingCheckedAt = Date.now();
    this.deps.telemetry.pending(list.total);
  }

  private async acquireSlot(): Promise<void> {
    while (this.submitting >= this.opts.maxConcurrentSubmits) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.submitting++;
  }

  private releaseSlot(): void {
    this.submitting--;
    this.slotWaiters.shift()?.();
  }

  /** Test-only fault injection for the crash tests (CRASH_AT): dies like kill -9, once. */
  private crashPoint(at: 'after-manifest' | 'after-submit'): void {
    if (this.opts.crashAt === at && !this.crashed) {
      this.crashed = true;
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
