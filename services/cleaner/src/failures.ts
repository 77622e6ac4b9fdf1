import { createEvent, type Message } from '@terra-transfer/contracts';
import type { FailedRecord, FileLedger } from '@terra-transfer/ledger';
import { PermanentError, type Logger } from '@terra-transfer/platform';
import { sensorOf } from '@terra-transfer/site-layout';
import type { CacheFs } from './adapters/cache-fs.js';
import { resendUploadId, sweepUploadId } from './core/ids.js';
import { decideResend, type KeepCode, type ResendDecision } from './core/resend.js';
import type { Publish } from './deleter.js';
import type { CleanerTelemetry } from './telemetry.js';

/** What one pass did with one due file (closed set: the label of terra_transfer_cleaner_resends_total). */
export type ResendOutcome =
  /** The failed version, sent again as a new round. */
  | 'resent'
  /** Another (settled) version was at the path: that one was sent. */
  | 'sent_changed'
  /** Another version arrived moments ago: left to the log, looked at again after the settle time. */
  | 'wait_changed'
  /** Missing, not a regular file, or an unsafe path: stays failed with that reason. */
  | 'kept'
  /** The record was no longer failed (sent by someone else, deleted): index entry dropped. */
  | 'moved_on'
  /** Redis or the broker failed: the lease runs out and a later pass tries again. */
  | 'error';

export const RESEND_OUTCOMES: readonly ResendOutcome[] = ['resent', 'sent_changed', 'wait_changed', 'kept', 'moved_on', 'error'];
export type ResendCounts = Record<ResendOutcome, number>;

/**
 * Handles one file.failed: the site's ledger learns the give-up (version
 * checked: only while the record still holds that upload) and schedules the
 * resend. The ack follows the ledger write; a redelivery is a no-op.
 */
export function createFailureRecorder(resendDelaysMs: readonly number[], deps: { ledger: FileLedger; telemetry: CleanerTelemetry; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return async function handle(event: Message<'file.failed'>): Promise<void> {
    const e = event.data;
    const res = await deps.ledger.markFailed({ path: e.path, uploadId: e.uploadId, size: e.size, attempts: e.attempts, reason: e.reason, detail: e.detail }, resendDelaysMs, now());
    deps.telemetry.failureHandled(res, e.path, e.reason, e.attempts);
  };
}

export interface ResenderOptions {
  site: string;
  /** A changed file younger than this may still be uploading (CHANGED_SETTLE_SECONDS). */
  settleMs: number;
  /** How often due resends are looked for (and the failed-files gauge refreshed). */
  checkMs: number;
  /** How long a kept file (missing, not regular) waits before it is looked at again: the longest backoff. */
  keptRecheckMs: number;
  /** Due files taken per Redis call. */
  batch: number;
}

export interface ResenderDeps {
  fs: CacheFs;
  ledger: FileLedger;
  publish: Publish;
  telemetry: CleanerTelemetry;
  logger: Logger;
  now?: () => number;
}

/** A taken file is leased this long: a replica that dies mid-pass gives it back then. */
const LEASE_MS = 5 * 60_000;

/**
 * The resend schedule of failed files. Every `checkMs` it takes the files
 * whose backoff is over (leased, so replicas share the work), checks each one
 * on disk with the deleter's safety checks, and sends it again or keeps it
 * failed with a reason. Publish confirmed → ledger → index entry dropped, so
 * a crash in between sends the same upload id again (recognisable downstream).
 */
export class FailedResender {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    private readonly opts: ResenderOptions,
    private readonly deps: ResenderDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    const tick = async () => {
      this.timer = undefined;
      if (this.closed) return;
      await this.runDue().catch((err: unknown) => this.deps.telemetry.resendPassFailed(err));
      await this.refreshGauge();
      if (!this.closed) this.timer = setTimeout(() => void tick(), this.opts.checkMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** Makes these failed files (all when omitted) due now and runs a pass; resolves with what the pass did. */
  async resendNow(paths?: readonly string[]): Promise<{ requested: number } & ResendCounts> {
    const requested = await this.deps.ledger.resendFailedNow(paths, this.now());
    const counts = await this.runDue();
    await this.refreshGauge();
    return { requested, ...counts };
  }

  list(offset: number, limit: number): ReturnType<FileLedger['listFailed']> {
    return this.deps.ledger.listFailed(offset, limit);
  }

  /** One pass over the due files; passes never overlap in one process. */
  runDue(): Promise<ResendCounts> {
    const run = this.chain.then(() => this.pass());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async refreshGauge(): Promise<void> {
    try {
      this.deps.telemetry.failedFiles(await this.deps.ledger.countFailed());
    } catch (err) {
      this.deps.telemetry.resendPassFailed(err);
    }
  }

  /** Stops the schedule and waits for a pass in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private async pass(): Promise<ResendCounts> {
    const counts = Object.fromEntries(RESEND_OUTCOMES.map((o) => [o, 0])) as ResendCounts;
    for (;;) {
      const t = this.now();
      const due = await this.deps.ledger.takeDueFailed(t, t + LEASE_MS, this.opts.batch);
      for (const path of due) {
        const outcome = await this.one(path).catch((err: unknown) => {
          this.deps.telemetry.resendError(path, err);
          return 'error' as const;
        });
        counts[outcome]++;
        this.deps.telemetry.resendOutcome(outcome);
        if (this.closed) return counts;
      }
      if (due.length < this.opts.batch || this.closed) return counts;
    }
  }

  private async one(path: string): Promise<ResendOutcome> {
    const { ledger, fs } = this.deps;
    const rec = await ledger.getFailed(path);
    if (!rec) {
      await ledger.pruneFailed([path]);
      return 'moved_on';
    }
    let decision: ResendDecision;
    let rel: string | undefined;
    try {
      const ins = await fs.inspect(path);
      rel = ins.rel;
      decision = decideResend(rec, ins.disk, this.now(), this.opts.settleMs);
    } catch (err) {
      if (!(err instanceof PermanentError && err.code === 'UNSAFE_PATH')) throw err;
      decision = { action: 'keep', code: 'UNSAFE_PATH', detail: err.message };
    }
    switch (decision.action) {
      case 'resend':
        await this.send(rec, rel!, rec.size, rec.mtimeMs, resendUploadId(path, rec.size, rec.mtimeMs, rec.giveUps));
        this.deps.telemetry.resentFailed(path, rec.giveUps, rec.size, rec.mtimeMs);
        return 'resent';
      case 'send_changed':
        await this.send(rec, rel!, decision.size, decision.mtimeMs, sweepUploadId(path, decision.size, decision.mtimeMs));
        this.deps.telemetry.resentChanged(path, decision.size, decision.mtimeMs);
        return 'sent_changed';
      case 'wait_changed':
        await ledger.deferFailed(path, rec.uploadId, rec.reason ?? '', rec.detail, this.now() + this.opts.settleMs);
        return 'wait_changed';
      case 'keep':
        await this.keep(rec, decision.code, decision.detail);
        return 'kept';
    }
  }

  /** Publish confirmed first, then the ledger (failed → pending), then the index entry goes. */
  private async send(rec: FailedRecord, rel: string, size: number, mtimeMs: number, uploadId: string): Promise<void> {
    const sensor = rec.sensor || sensorOf(rel);
    const site = rec.site || this.opts.site;
    await this.deps.publish(createEvent('file.uploaded', uploadId, { site, sensor, path: rec.path, size, mtimeMs, ftpTime: null, source: 'sweep', attempt: 1, uploadId }));
    await this.deps.ledger.notePending({ path: rec.path, size, mtimeMs, uploadId, attempt: 1, site, sensor });
    await this.deps.ledger.pruneFailed([rec.path]);
  }

  /** Stays failed, with a reason an operator can act on; looked at again after the longest backoff. */
  private async keep(rec: FailedRecord, code: KeepCode, detail: string): Promise<void> {
    // The first time, the watcher's reason goes into the detail, so it is not lost.
    const full = rec.reason === code ? rec.detail : `${detail} (given up with ${rec.reason ?? 'unknown'}: ${rec.detail})`.slice(0, 4096);
    if (await this.deps.ledger.deferFailed(rec.path, rec.uploadId, code, full, this.now() + this.opts.keptRecheckMs)) {
      this.deps.telemetry.keptFailed(rec.path, code, detail);
    }
  }
}
