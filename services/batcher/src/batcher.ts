import { randomUUID } from 'node:crypto';
import { createEvent, type FileUploaded, type TaskFile, type TaskSubmittedData } from '@terra-transfer/contracts';
import type { GlobusClient, SubmitResult } from '@terra-transfer/globus';
import { GlobusError } from '@terra-transfer/globus';
import type { ClaimResult, FileLedger } from '@terra-transfer/ledger';
import { PermanentError, TransientError, classify, outsideTrace, retry, sleep, type AmqpClient, type Consumer, type DeliveryContext, type Logger } from '@terra-transfer/platform';
import type { BatchStore, Manifest } from './adapters/batch-store.js';
import type { CacheProbe } from './adapters/cache-probe.js';
import type { WatcherNotifier } from './adapters/watcher-notifier.js';
import { deadlineFor, deadlineIso, flushReason, taskLabel, type BatchLimits, type FlushReason } from './core/batching.js';
import { route, type Destination } from './core/destinations.js';
import { judge, type OnDisk, type Verdict } from './core/versions.js';
import type { BatcherTelemetry, SkipReason } from './telemetry.js';

/** The Globus calls the batcher makes. */
type GlobusPort = Pick<GlobusClient, 'submissionId' | 'submitTransfer' | 'taskList'>;

/** A site the batcher serves, from the site file. */
export interface BatcherSite {
  name: string;
  cacheRoot: string;
  sourceEndpoint: string;
  sourceRoot: string;
  /** Each with its own bundling limits. */
  destinations: ReadonlyArray<Destination & { limits: BatchLimits }>;
  rules: 'terraref' | 'identity';
}

export interface BatcherOptions {
  sites: readonly BatcherSite[];
  /** Batches being submitted at once, per destination (a destination that fails holds only its own slots). */
  maxConcurrentSubmits: number;
  maxPendingTasks: number;
  /** A site's consumption pauses while more of its stored batches than this wait for submission. */
  maxWaitingBatches: number;
  deadlineHours: number;
  skipSourceErrors: boolean;
  crashAt?: 'none' | 'after-manifest' | 'after-submit';
}

export interface BatcherDeps {
  globus: GlobusPort;
  store: BatchStore;
  ledger: FileLedger;
  /** The cache probe of each served site. */
  cache: (site: string) => CacheProbe;
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
  site: BatcherSite;
  destination: Destination & { limits: BatchLimits };
  entries: Entry[];
  bytes: number;
  openedAt: number;
  timer: NodeJS.Timeout;
}

/** How long a readiness answer about Globus is trusted before it is asked again (in the background). */
const UPSTREAM_RECHECK_MS = 15_000;

/**
 * Turns file.uploaded deliveries into Globus tasks, in two halves:
 *
 * 1. Store (a delivery waits for this, then is acked): the batch's files are
 *    looked at in the cache, the version on disk is chosen per path (see
 *    core/versions.ts), the manifest is written (`stored`) and the files are
 *    claimed in the ledger. Nothing here needs Globus, so an outage holds no
 *    delivery unacked (a held delivery would be redelivered by the broker's
 *    consumer_timeout and spend the delivery limit).
 * 2. Drive (in the background, at most MAX_CONCURRENT_SUBMITS at once):
 *    fetch and persist a submission_id, wait for room under the Globus
 *    pending-task cap, claim again (drops what a newer version took meanwhile),
 *    submit, record the task (`accepted`), mark in flight, publish
 *    task.submitted, tell a remote watcher, close (`notified`). Every step
 *    can be repeated; a resubmission carries the same submission_id and
 *    Globus answers Duplicate with the original task.
 *
 * Stored batches are durable state: a site's consumption (its own queue,
 * `batcher.file-uploaded.<site>`) pauses while more than MAX_WAITING_BATCHES
 * of that site's batches wait, and resumes on its own; the other sites keep
 * flowing, and the broker holds the paused site's backlog. At start every
 * open batch is handed to the driver.
 */
export class Batcher {
  private readonly open = new Map<string, OpenBatch>();
  /** Stored batches not yet closed, known to this process's driver (batch id → its site). */
  private readonly waiting = new Map<string, string>();
  /** Stored batches waiting for a driver slot, per lane (site/destination): one destination's trouble never takes another's slots. */
  private readonly lanes = new Map<string, { queue: string[]; driving: number }>();
  private readonly sites: Map<string, BatcherSite>;
  private readonly abort = new AbortController();
  private pendingTasks = 0;
  private pendingCheckedAt = 0;
  /** One consumer per served site (its own queue), paused on its own. */
  private readonly consumers = new Map<string, Consumer<'file.uploaded'>>();
  private readonly paused = new Set<string>();
  private crashed = false;
  private shutdownHooked = false;
  private upstreamOk = false;
  private upstreamCheckedAt = 0;
  private upstreamChecking = false;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly deps: BatcherDeps,
  ) {
    this.sites = new Map(opts.sites.map((s) => [s.name, s]));
  }

  /**
   * Hands every open batch left by an earlier run to the driver. Call before
   * consuming: a stored batch's files are claimed first (Redis only), so the
   * redelivered events of its files find them in it.
   */
  async recover(): Promise<void> {
    for (const batchId of await this.deps.store.open()) {
      const m = await this.deps.store.get(batchId);
      this.deps.telemetry.recovered(batchId, m?.state ?? 'missing');
      if (m?.state === 'stored') await this.claimStored(m);
      this.enqueue(batchId, m ? laneOf(m.files[0]?.site ?? '', m.destination) : laneOf('', ''));
    }
  }

  /** Starts consuming file.uploaded: one consumer per served site, on that site's queue. */
  start(): Consumer<'file.uploaded'>[] {
    for (const site of this.opts.sites) {
      // Enough unacked deliveries to fill a batch of every destination while the earlier ones are stored.
      const maxFiles = Math.max(...site.destinations.map((d) => d.limits.maxFiles));
      const prefetch = maxFiles * (this.opts.maxConcurrentSubmits + 1) * site.destinations.length;
      // A batch's deliveries resolve together once it is stored and claimed (durable in Redis): their acks go as one `multiple` ack.
      const consumer = this.deps.amqp.consume({ key: 'batcherUploads', site: site.name }, 'file.uploaded', (e, ctx) => this.handle(e, ctx), {
        prefetch: Math.min(prefetch, 65_535), groupAcks: true,
      });
      this.consumers.set(site.name, consumer);
      if (this.paused.has(site.name)) void consumer.pause();
    }
    return [...this.consumers.values()];
  }

  /** Checks Globus answers (and how many tasks are unfinished): the readiness gate before consuming. */
  async checkUpstream(): Promise<void> {
    await this.refreshPending(true);
  }

  /**
   * Readiness: false while Globus does not answer. The last answer is
   * reused for UPSTREAM_RECHECK_MS, then Globus is asked again in the
   * background (so /readyz never waits on Globus).
   */
  upstreamReady(): boolean {
    if (!this.upstreamChecking && Date.now() - this.upstreamCheckedAt > UPSTREAM_RECHECK_MS) {
      this.upstreamChecking = true;
      this.deps.globus.taskList({ filter: 'type:TRANSFER/status:ACTIVE,INACTIVE', fields: ['task_id'], limit: 1 })
        .then(() => this.noteUpstream(true), (err: unknown) => this.noteUpstream(false, err))
        .finally(() => { this.upstreamChecking = false; });
    }
    return this.upstreamOk;
  }

  /** Stops timers and background loops; stored batches stay in Redis for the next start. */
  close(): void {
    this.abort.abort();
    for (const b of this.open.values()) clearTimeout(b.timer);
  }

  handle(event: FileUploaded, ctx: DeliveryContext): Promise<void> {
    const site = this.sites.get(event.data.site);
    if (!site) return Promise.reject(new PermanentError('UNKNOWN_SITE', `site ${JSON.stringify(event.data.site)} is not served by this batcher (sites: ${[...this.sites.keys()].join(', ')})`));
    const r = route(event.data.path, site);
    if (!r) {
      return Promise.reject(new PermanentError('NO_DESTINATION', `no destination takes ${event.data.path}: outside the cache root ${site.cacheRoot} or no include prefix matches`));
    }
    const destination = r.destination as Destination & { limits: BatchLimits };
    const lane = laneOf(site.name, destination.name);
    const d = event.data;
    const file: TaskFile = {
      path: d.path, sourcePath: r.sourcePath, destinationPath: r.destinationPath, size: d.size, mtimeMs: d.mtimeMs,
      site: d.site, sensor: d.sensor, uploadId: d.uploadId, attempt: d.attempt,
    };
    return new Promise<void>((resolve, reject) => {
      const now = Date.now();
      let b = this.open.get(lane);
      if (!b) {
        b = { site, destination, entries: [], bytes: 0, openedAt: now, timer: setTimeout(() => this.flush(lane, 'age'), destination.limits.maxWaitMs) };
        this.open.set(lane, b);
      }
      b.entries.push({ event, file, resolve, reject });
      b.bytes += file.size;
      const reason = flushReason({ files: b.entries.length, bytes: b.bytes, openedAt: b.openedAt }, destination.limits, now);
      if (reason) this.flush(lane, reason);
      if (!this.shutdownHooked) {
        // On shutdown, store what is open now rather than wait for batches to fill.
        this.shutdownHooked = true;
        ctx.signal.addEventListener('abort', () => this.flushAll('shutdown'), { once: true });
      }
    });
  }

  flushAll(reason: FlushReason): void {
    for (const name of [...this.open.keys()]) this.flush(name, reason);
  }

  private flush(lane: string, reason: FlushReason): void {
    const b = this.open.get(lane);
    if (!b) return;
    this.open.delete(lane);
    clearTimeout(b.timer);
    this.deps.telemetry.flushed(b.destination.name, reason, b.entries.length, Date.now() - b.openedAt);
    // A batch is about many files: its work runs outside the trace of the delivery that happened to flush it.
    outsideTrace(() => void this.storeBatch(b));
  }

  /** The store half: look at the cache, choose versions, write the manifest, claim; then settle every delivery. */
  private async storeBatch(b: OpenBatch): Promise<void> {
    let batchId: string | undefined;
    try {
      const probedAt = Date.now();
      const disk = await this.deps.cache(b.site.name).probe(b.entries.map((e) => e.file.path));
      const entries: Entry[] = [];
      for (const e of b.entries) {
        const d = disk.get(e.file.path);
        if (d?.kind === 'unsafe') e.reject(new PermanentError('UNSAFE_PATH', d.reason));
        else entries.push(e);
      }
      const verdicts = judge(entries.map((e) => e.file), disk as ReadonlyMap<string, OnDisk>);
      const send = entries.filter((_, i) => verdicts[i]!.kind === 'send');
      const vanished = entries.filter((_, i) => verdicts[i]!.kind === 'vanished');
      const outcome = new Map<Entry, ClaimResult>();
      const gone = await this.deps.ledger.claim('', vanished.map((e) => ({ ...e.file, seenAt: probedAt, onDisk: false })));
      vanished.forEach((e, i) => outcome.set(e, gone[i]!));
      if (send.length > 0) {
        const id = randomUUID();
        const files = send.map((e) => e.file);
        const written = {
          batchId: id, destination: b.destination.name, sourceEndpoint: b.site.sourceEndpoint, destinationEndpoint: b.destination.endpoint,
          label: taskLabel(b.site.name, b.destination.name, id, files.length), deadline: deadlineIso(Date.now(), this.opts.deadlineHours),
          createdAt: Date.now(), probedAt, files,
        };
        const created = await this.deps.store.create(written);
        if (created.outcome === 'refused') {
          this.deps.telemetry.refused(id, 'create', created.state);
          throw new TransientError('BATCH_EXISTS', `batch ${id} exists already`);
        }
        batchId = id;
        this.crashPoint('after-manifest');
        // The manifest as just stored (a fresh id: nothing else wrote it), not read back from Redis.
        const m: Manifest = { ...written, files: [...files], state: 'stored', submissionId: null, taskId: null, acceptedAt: null };
        const claims = await this.claimStored(m);
        send.forEach((e, i) => outcome.set(e, claims[i]!));
      }
      await Promise.all(entries.map((e, i) => this.settleEntry(e, verdicts[i]!, verdicts[i]!.kind === 'duplicate' ? outcome.get(entries[(verdicts[i] as { of: number }).of]!) : outcome.get(e))));
      if (batchId && (await this.deps.store.state(batchId)) === 'stored') this.enqueue(batchId, laneOf(b.site.name, b.destination.name));
    } catch (err) {
      // Unsettled deliveries are requeued; a batch stored before the error is driven anyway (its claims are repeated there).
      for (const e of b.entries) e.reject(err);
      if (batchId) this.enqueue(batchId, laneOf(b.site.name, b.destination.name));
    }
  }

  /**
   * Claims a stored batch's files and keeps only those it got (closing it
   * `empty` when none). Repeatable: a claim by the same batch succeeds again,
   * and a version a newer sighting replaced meanwhile drops out.
   */
  private async claimStored(m: Manifest): Promise<ClaimResult[]> {
    const results = await this.deps.ledger.claim(m.batchId, m.files.map((f) => ({ ...f, seenAt: m.probedAt, onDisk: true })));
    const claimed = m.files.filter((_, i) => results[i]!.outcome === 'claimed');
    if (claimed.length === 0) {
      const closed = await this.deps.store.close(m.batchId, 'empty');
      if (closed.outcome === 'refused') this.deps.telemetry.refused(m.batchId, 'close_empty', closed.state);
      else this.deps.telemetry.empty(m.batchId);
    } else if (claimed.length < m.files.length) {
      if (await this.deps.store.setFiles(m.batchId, claimed)) m.files = claimed;
      else this.deps.telemetry.refused(m.batchId, 'set_files', await this.deps.store.state(m.batchId));
    }
    return results;
  }

  /** Resolves one delivery (it is acked) once its file is durably in a stored batch, or known not to need one. */
  private async settleEntry(e: Entry, v: Verdict, r: ClaimResult | undefined): Promise<void> {
    try {
      if (v.kind === 'superseded') {
        this.skip('superseded', e);
      } else {
        if (!r) throw new TransientError('NOT_IN_BATCH', `${e.file.path}: no claim outcome`);
        if (v.kind === 'duplicate') {
          this.skip('duplicate', e);
        } else if (r.outcome === 'in_batch') {
          // Another stored batch holds this version (a redelivery after a crash, or a duplicate event): it is driven to its end.
          const state = await this.deps.store.state(r.batchId);
          if (state !== 'stored' && state !== 'accepted') throw new TransientError('BATCH_MOVED', `${e.file.path} is claimed by batch ${r.batchId}, which is ${state ?? 'gone'}; retrying`);
          this.enqueue(r.batchId, laneOf(e.file.site, (await this.deps.store.get(r.batchId))?.destination ?? ''));
          this.skip('in_batch', e);
        } else if (r.outcome !== 'claimed') {
          this.skip(r.outcome, e);
        }
      }
      e.resolve();
    } catch (err) {
      e.reject(err);
    }
  }

  private skip(reason: SkipReason, e: Entry): void {
    this.deps.telemetry.skipped(reason, e.file.path, e.file.uploadId);
  }

  /** Hands a stored batch to the driver (once) and applies backpressure. */
  private enqueue(batchId: string, laneKey: string): void {
    if (this.waiting.has(batchId)) return;
    const site = siteOfLane(laneKey);
    this.waiting.set(batchId, site);
    let lane = this.lanes.get(laneKey);
    if (!lane) this.lanes.set(laneKey, (lane = { queue: [], driving: 0 }));
    lane.queue.push(batchId);
    this.backpressure(site);
    this.pump(lane);
  }

  private pump(lane: { queue: string[]; driving: number }): void {
    while (lane.driving < this.opts.maxConcurrentSubmits && lane.queue.length > 0 && !this.abort.signal.aborted) {
      const batchId = lane.queue.shift()!;
      lane.driving++;
      void outsideTrace(() => this.drive(batchId)).finally(() => {
        lane.driving--;
        this.pump(lane);
      });
    }
  }

  /** Drives one batch to its end; any failure is retried with backoff until then, or until shutdown (the batch stays stored). */
  private async drive(batchId: string): Promise<void> {
    if (this.abort.signal.aborted) return;
    try {
      await retry(() => this.settle(batchId), {
        backoff: SUBMIT_BACKOFF,
        retryable: () => true,
        signal: this.abort.signal,
        onRetry: (err, _n, delayMs) => {
          const c = classify(err);
          this.deps.telemetry.submitRetry(batchId, c.code, c.message, Math.round(delayMs));
        },
      });
    } catch {
      return; // shutdown: the batch stays stored
    }
    const site = this.waiting.get(batchId);
    this.waiting.delete(batchId);
    if (site !== undefined) this.backpressure(site);
  }

  /**
   * A site's consumption pauses while too many of its stored batches wait
   * (durable state, bounded), and resumes on its own. Per site: one site's
   * failing destination never stops another site's intake.
   */
  private backpressure(site: string): void {
    let n = 0;
    for (const s of this.waiting.values()) if (s === site) n++;
    const over = n > this.opts.maxWaitingBatches;
    this.deps.telemetry.waiting(site, n);
    if (over === this.paused.has(site)) return;
    if (over) this.paused.add(site);
    else this.paused.delete(site);
    this.deps.telemetry.paused(site, over, n, this.opts.maxWaitingBatches);
    const consumer = this.consumers.get(site);
    if (over) void consumer?.pause();
    else void consumer?.resume();
  }

  /**
   * stored → (submission_id, capacity, claim again, submit) → accepted →
   * (mark in flight, publish task.submitted, tell the watcher) → notified.
   * Every step can be repeated.
   */
  private async settle(batchId: string): Promise<void> {
    const m = await this.deps.store.get(batchId);
    if (!m) {
      this.deps.telemetry.missing(batchId);
      return;
    }
    if (m.state === 'stored') {
      if (!(await this.submitStored(m))) return;
    }
    if (m.state === 'accepted') await this.notify(m);
  }

  /** The stored batch goes to Globus; false when it closed instead (nothing left to send, or rejected for good). */
  private async submitStored(m: Manifest): Promise<boolean> {
    // Obtained and persisted before the first POST: a retry after a crash or a lost answer reuses it (Duplicate).
    m.submissionId ??= await this.deps.store.setSubmissionId(m.batchId, await this.retrying(m.batchId, () => this.deps.globus.submissionId()));
    await this.waitForCapacity();
    const before = m.files;
    const claims = await this.claimStored(m);
    if ((await this.deps.store.state(m.batchId)) !== 'stored') return false;
    if (m.files.length < before.length) {
      // Which files and why (a newer version's batch, a task holding it, a vanished file), at most 20.
      const dropped = claims.flatMap((c, i) => (c.outcome === 'claimed' ? [] : [{ ...c, uploadId: before[i]!.uploadId }])).slice(0, 20);
      this.deps.logger.info({ batchId: m.batchId, dropped: before.length - m.files.length, files: dropped }, 'files another batch or task holds dropped from the batch');
    }
    const res = await this.submit(m);
    if (!res) return false;
    this.crashPoint('after-submit');
    const accepted = await this.deps.store.accepted(m.batchId, res.taskId);
    if (accepted.outcome === 'refused') {
      // Another replica moved the batch on (or it closed): whoever did drives it.
      this.deps.telemetry.refused(m.batchId, 'accept', accepted.state);
      return false;
    }
    m.taskId = res.taskId;
    m.state = 'accepted';
    m.acceptedAt = Date.now();
    this.deps.telemetry.accepted(m.batchId, m.destination, res.taskId, res.code, m.files.length, Date.now() - m.createdAt);
    return true;
  }

  private async notify(m: Manifest): Promise<void> {
    const taskId = m.taskId!;
    const marked = await this.deps.ledger.markInFlight(m.files.map((f) => f.path), m.batchId, taskId);
    // Fewer: a notification repeated (marked already), or paths another batch claimed since (a newer version, a retry): theirs.
    if (marked < m.files.length) this.deps.logger.info({ batchId: m.batchId, taskId, files: m.files.length, marked }, 'some files not marked in flight: already marked, or claimed by another batch since');
    const data: TaskSubmittedData = {
      taskId, submissionId: m.submissionId!, batchId: m.batchId, label: m.label, sourceEndpoint: m.sourceEndpoint,
      destinationEndpoint: m.destinationEndpoint, submittedAt: new Date(m.acceptedAt ?? Date.now()).toISOString(), files: m.files,
    };
    await this.deps.amqp.publish(createEvent('task.submitted', `task.submitted:${taskId}`, data));
    if (this.deps.notifier) await this.retrying(m.batchId, () => this.deps.notifier!.notify(data), false);
    this.deps.telemetry.notified(taskId, this.deps.notifier ? 'broker+http' : 'broker');
    const closed = await this.deps.store.close(m.batchId, 'notified');
    if (closed.outcome === 'refused') this.deps.telemetry.refused(m.batchId, 'close_notified', closed.state);
  }

  /** POSTs the stored batch (same submission_id every time); null when Globus refused it for good and the batch was closed `rejected`. */
  private async submit(m: Manifest): Promise<SubmitResult | null> {
    try {
      return await this.retrying(m.batchId, async () => {
        // Each attempt (an outage may outlast the deadline) checks the deadline it is about to send.
        const d = deadlineFor(m.deadline, Date.now(), this.opts.deadlineHours);
        if (d.renewed) {
          if (await this.deps.store.renewDeadline(m.batchId, d.deadline)) this.deps.telemetry.deadlineRenewed(m.batchId, m.deadline, d.deadline);
          else this.deps.telemetry.refused(m.batchId, 'renew_deadline', await this.deps.store.state(m.batchId));
          m.deadline = d.deadline;
        }
        return this.deps.globus.submitTransfer({
          submission_id: m.submissionId!,
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
        });
      });
    } catch (err) {
      if (!(err instanceof GlobusError) || err.retryable || err.isEndpointError) throw err;
      // A batch that may have been posted before (it has a submission_id) is never given up while a task for it may exist.
      const existing = await this.existingTask(m);
      if (existing) {
        this.deps.telemetry.adoptedAfterRefusal(m.batchId, err.code, existing);
        return { code: 'Duplicate', taskId: existing, submissionId: m.submissionId!, requestId: err.requestId ?? '' };
      }
      await this.giveUp(m, err);
      return null;
    }
  }

  /**
   * The task Globus already holds for this batch, found by its label (it
   * names the site, destination and batch; Globus does not list tasks by
   * submission_id), or null.
   */
  private async existingTask(m: Manifest): Promise<string | null> {
    const list = await this.retrying(m.batchId, () =>
      this.deps.globus.taskList({ filter: `type:TRANSFER/label:=${m.label}`, fields: ['task_id', 'label'], limit: 10 }),
    );
    return list.DATA.find((t) => t.label === m.label)?.task_id ?? null;
  }

  /**
   * Globus will never take this document (bad request, consent, unknown
   * endpoint). The deliveries were acked when the batch was stored, so the
   * files are given up like the watcher gives them up: file.failed with the
   * code, which the cleaner records in the ledger (`failed`, resent after its
   * backoff), then the batch closes `rejected`. Repeatable: a crash before the
   * close submits again and is refused again.
   */
  private async giveUp(m: Manifest, err: GlobusError): Promise<void> {
    const reason = `GLOBUS_${err.upstreamCode}`.slice(0, 64);
    this.deps.telemetry.rejected(m.batchId, err.code, err.message);
    await Promise.all(m.files.map((f) => this.deps.amqp.publish(createEvent('file.failed', `file.failed:${f.uploadId}:${f.attempt}:rejected`.slice(0, 512), {
      site: f.site, sensor: f.sensor, path: f.path, size: f.size, uploadId: f.uploadId, attempts: f.attempt, reason,
      detail: `Globus refused batch ${m.batchId}: ${err.message}`.slice(0, 4096), lastTaskId: null,
    }))));
    const closed = await this.deps.store.close(m.batchId, 'rejected');
    if (closed.outcome === 'refused') this.deps.telemetry.refused(m.batchId, 'close_rejected', closed.state);
  }

  /**
   * Retries a Globus (or watcher) call until it succeeds, it fails
   * permanently, or the service shuts down. The client already applied the
   * SDK's short retries; this is the slow outer loop (an endpoint that is
   * down for an hour must not cost anybody a file).
   */
  private async retrying<T>(batchId: string, fn: () => Promise<T>, isGlobus = true): Promise<T> {
    const endpointDown = (err: unknown) => err instanceof GlobusError && err.isEndpointError;
    const retryable = (err: unknown) => classify(err).retryable || endpointDown(err);
    try {
      const out = await retry(
        async () => {
          try {
            return await fn();
          } catch (err) {
            // Globus (not an endpoint behind it) does not answer: not ready until it does.
            if (isGlobus && retryable(err) && !endpointDown(err)) this.noteUpstream(false, err);
            throw err;
          }
        },
        {
          backoff: (err) => (endpointDown(err) ? ENDPOINT_DOWN_BACKOFF : SUBMIT_BACKOFF),
          retryable,
          signal: this.abort.signal,
          onRetry: (err, _n, delayMs) => {
            const c = classify(err);
            this.deps.telemetry.submitRetry(batchId, c.code, c.message, Math.round(delayMs));
          },
        },
      );
      if (isGlobus) this.noteUpstream(true);
      return out;
    } catch (err) {
      if (this.abort.signal.aborted && retryable(err)) throw new TransientError('SHUTTING_DOWN', `gave up on batch ${batchId} for shutdown: ${classify(err).message}`);
      throw err;
    }
  }

  /** Waits while the Globus identity has too many unfinished tasks (stored batches wait meanwhile; backpressure counts them). */
  private async waitForCapacity(): Promise<void> {
    for (;;) {
      await this.refreshPending(this.pendingTasks >= this.opts.maxPendingTasks);
      if (this.pendingTasks < this.opts.maxPendingTasks) {
        this.pendingTasks++; // ours, until the next count
        return;
      }
      this.deps.telemetry.capacity(this.pendingTasks, this.opts.maxPendingTasks);
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

  private noteUpstream(ok: boolean, err?: unknown): void {
    this.upstreamCheckedAt = Date.now();
    if (ok !== this.upstreamOk) this.deps.telemetry.upstream(ok, err === undefined ? undefined : classify(err).message);
    this.upstreamOk = ok;
  }

  /** Test-only fault injection for the crash tests (CRASH_AT): dies like kill -9, once. */
  private crashPoint(at: 'after-manifest' | 'after-submit'): void {
    if (this.opts.crashAt === at && !this.crashed) {
      this.crashed = true;
      process.kill(process.pid, 'SIGKILL');
    }
  }
}

/** The slow outer loop's waits: 1 s doubling to a minute; to 5 min while the endpoint behind Globus is down. */
const SUBMIT_BACKOFF = { baseMs: 1_000, maxMs: 60_000, jitter: 0.5 };
const ENDPOINT_DOWN_BACKOFF = { ...SUBMIT_BACKOFF, maxMs: 300_000 };

/** A driver lane: one per site and destination. */
const laneOf = (site: string, destination: string) => `${site}/${destination}`;
const siteOfLane = (lane: string) => lane.slice(0, lane.indexOf('/'));
