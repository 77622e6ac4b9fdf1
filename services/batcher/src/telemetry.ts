import { counter, gauge, histogram, type ErrorCode, type Logger, type Registry } from '@terra-transfer/platform';

/**
 * Why a file.uploaded event was acked without sending its file (a closed set, the metric's label):
 *   in_flight    this version is in a Globus task already
 *   transferred  this version arrived already
 *   in_batch     another stored batch holds this version (a redelivery, a duplicate event)
 *   duplicate    another event of the same version in this batch carries it
 *   superseded   the cache holds a newer version than the event's (or the ledger saw one later)
 *   vanished     the file is gone from the cache
 */
export type SkipReason = 'in_flight' | 'transferred' | 'in_batch' | 'duplicate' | 'superseded' | 'vanished';
const SKIP_REASONS: readonly SkipReason[] = ['in_flight', 'transferred', 'in_batch', 'duplicate', 'superseded', 'vanished'];

/** The batch store's writes that check their starting state (a closed set, the metric's label). */
export type BatchStep = 'create' | 'accept' | 'close_notified' | 'close_empty' | 'close_rejected' | 'set_files' | 'renew_deadline';
const BATCH_STEPS: readonly BatchStep[] = ['create', 'accept', 'close_notified', 'close_empty', 'close_rejected', 'set_files', 'renew_deadline'];

/** Named batcher occurrences: each logs and updates its metric. */
export function batcherTelemetry(logger: Logger, registry: Registry) {
  const batches = counter(registry, 'terra_transfer_batches_submitted_total', 'Batches Globus accepted, by destination', ['destination']);
  const deadlinesRenewed = counter(registry, 'terra_transfer_batcher_deadlines_renewed_total', 'Batches whose stored Globus deadline passed before Globus took them, re-submitted with a fresh one');
  const files = counter(registry, 'terra_transfer_files_submitted_total', 'Files in accepted batches, by destination', ['destination']);
  const skipped = counter(registry, 'terra_transfer_files_skipped_total', 'file.uploaded events not batched, by reason', ['reason']);
  // Every reason has its series from the start, so rate() and increase() answer 0, not nothing.
  for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);
  const batchFiles = histogram(registry, 'terra_transfer_batch_files', 'Files per submitted batch', [], [1, 10, 50, 100, 250, 500, 1000, 5000]);
  const fillSeconds = histogram(registry, 'terra_transfer_batch_fill_seconds', 'Time from a batch’s first file to its flush', ['reason'], [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300]);
  const submitSeconds = histogram(registry, 'terra_transfer_batch_submit_seconds', 'Time from storing a batch to Globus accepting its task', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120, 600, 3600]);
  const recovered = counter(registry, 'terra_transfer_batches_recovered_total', 'Open batches driven forward by recovery, by the state they were found in', ['state']);
  const pendingTasks = gauge(registry, 'terra_transfer_globus_pending_tasks', 'Unfinished Globus tasks of this identity at the last check');
  const paused = gauge(registry, 'terra_transfer_batcher_paused', "1 while a site's consumption is paused for backpressure (too many of its stored batches wait for submission)", ['site']);
  const waiting = gauge(registry, 'terra_transfer_batches_waiting', 'Stored batches not yet submitted and notified, by site', ['site']);
  const upstream = gauge(registry, 'terra_transfer_globus_up', '1 while the Globus API answers, 0 while it does not');
  const submitRetries = counter(registry, 'terra_transfer_batch_submit_retries_total', 'Submission attempts that failed and will be retried, by error code', ['code']);
  const refused = counter(registry, 'terra_transfer_batch_transitions_refused_total', 'Batch store writes refused because the batch was not in their starting state (another replica moved it on), by step', ['step']);
  for (const step of BATCH_STEPS) refused.inc({ step }, 0);
  const log = logger.child({ component: 'batcher' });
  return {
    flushed(destination: string, reason: string, n: number, ageMs: number) {
      fillSeconds.observe({ reason }, ageMs / 1000);
      log.debug({ destination, reason, files: n }, 'batch flushed');
    },
    accepted(batchId: string, destination: string, taskId: string, code: string, n: number, submitMs: number) {
      batches.inc({ destination });
      files.inc({ destination }, n);
      batchFiles.observe(n);
      submitSeconds.observe(submitMs / 1000);
      log.info({ batchId, destination, taskId, code, files: n }, 'batch accepted by Globus');
    },
    skipped(reason: SkipReason, path: string, uploadId: string) {
      skipped.inc({ reason });
      // A vanished file is a loss someone may be looking for: said at warn, with its upload.
      if (reason === 'vanished') log.warn({ path, uploadId, reason }, 'file vanished from the cache before it was sent');
      else log.debug({ path, uploadId, reason }, 'file not batched');
    },
    /** A write found the batch in another state than it starts from: nothing was written. */
    refused(batchId: string, step: BatchStep, state: string | null) {
      refused.inc({ step });
      log.warn({ batchId, step, state }, 'batch store write refused: the batch is not in the state it starts from');
    },
    empty(batchId: string) {
      log.info({ batchId }, 'batch closed empty: every file was already in flight, transferred or superseded');
    },
    missing(batchId: string) {
      log.error({ batchId }, 'an open batch has no manifest (expired or deleted by hand); nothing to submit');
    },
    waiting(site: string, n: number) {
      waiting.set({ site }, n);
    },
    capacity(pending: number, max: number) {
      log.warn({ pending, max }, 'Globus task cap reached: stored batches wait');
    },
    upstream(ok: boolean, err: string | undefined) {
      upstream.set(ok ? 1 : 0);
      if (ok) log.info('Globus answers again: ready');
      else log.warn({ err }, 'Globus does not answer: not ready; stored batches wait');
    },
    recovered(batchId: string, state: string) {
      recovered.inc({ state });
      log.warn({ batchId, state }, 'driving an open batch forward (recovery)');
    },
    submitRetry(batchId: string, code: ErrorCode, err: string, delayMs: number) {
      submitRetries.inc({ code });
      log.warn({ batchId, code, err, retryInMs: delayMs }, 'submission failed; retrying with the same submission_id');
    },
    deadlineRenewed(batchId: string, old: string, fresh: string) {
      deadlinesRenewed.inc();
      log.warn({ batchId, old, fresh }, 'the batch’s deadline passed before Globus took it: submitting with a fresh deadline and the same submission_id');
    },
    adoptedAfterRefusal(batchId: string, code: ErrorCode, taskId: string) {
      log.warn({ batchId, code, taskId }, 'Globus refused a re-submission, but a task with the batch’s label exists: it is taken as the batch’s task (files not given up)');
    },
    rejected(batchId: string, code: ErrorCode, err: string) {
      log.error({ batchId, code, err }, 'Globus rejected the batch permanently; its files are given up (file.failed)');
    },
    pending(n: number) {
      pendingTasks.set(n);
    },
    paused(site: string, on: boolean, waitingBatches: number, max: number) {
      paused.set({ site }, on ? 1 : 0);
      if (on) log.warn({ site, waiting: waitingBatches, max }, "too many of the site's stored batches wait for submission: its consumption paused (other sites go on)");
      else log.info({ site, waiting: waitingBatches, max }, "the site's stored batches are below the limit again: its consumption resumed");
    },
    notified(taskId: string, how: 'broker' | 'broker+http') {
      log.info({ taskId, how }, 'watcher told about the task');
    },
  };
}

export type BatcherTelemetry = ReturnType<typeof batcherTelemetry>;
