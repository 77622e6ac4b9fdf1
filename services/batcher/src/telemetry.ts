import { counter, gauge, histogram, type Logger, type Registry } from '@terra-transfer/platform';

/** Named batcher occurrences: each logs and updates its metric. */
export function batcherTelemetry(logger: Logger, registry: Registry) {
  const batches = counter(registry, 'terra_transfer_batches_submitted_total', 'Batches Globus accepted, by destination and flush reason', ['destination', 'reason']);
  const files = counter(registry, 'terra_transfer_files_submitted_total', 'Files in accepted batches, by destination', ['destination']);
  const skipped = counter(registry, 'terra_transfer_files_skipped_total', 'file.uploaded events not batched, by reason', ['reason']);
  const batchFiles = histogram(registry, 'terra_transfer_batch_files', 'Files per submitted batch', [], [1, 10, 50, 100, 250, 500, 1000, 5000]);
  const fillSeconds = histogram(registry, 'terra_transfer_batch_fill_seconds', 'Time from a batch’s first file to its flush', ['reason'], [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300]);
  const submitSeconds = histogram(registry, 'terra_transfer_batch_submit_seconds', 'Time from flush to Globus accepting the task', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120]);
  const recovered = counter(registry, 'terra_transfer_batches_recovered_total', 'Open batches driven forward by recovery, by the state they were found in', ['state']);
  const pendingTasks = gauge(registry, 'terra_transfer_globus_pending_tasks', 'Unfinished Globus tasks of this identity at the last check');
  const paused = gauge(registry, 'terra_transfer_batcher_paused', '1 while consumption is paused for backpressure');
  const submitRetries = counter(registry, 'terra_transfer_batch_submit_retries_total', 'Submission attempts that failed and will be retried, by error code', ['code']);
  const log = logger.child({ component: 'batcher' });
  return {
    flushed(destination: string, reason: string, n: number, ageMs: number) {
      fillSeconds.observe({ reason }, ageMs / 1000);
      log.debug({ destination, reason, files: n }, 'batch flushed');
    },
    accepted(batchId: string, destination: string, reason: string, taskId: string, code: string, n: number, submitMs: number) {
      batches.inc({ destination, reason });
      files.inc({ destination }, n);
      batchFiles.observe(n);
      submitSeconds.observe(submitMs / 1000);
      log.info({ batchId, destination, taskId, code, files: n }, 'batch accepted by Globus');
    },
    skipped(reason: 'in_flight' | 'transferred' | 'superseded', path: string) {
      skipped.inc({ reason });
      log.debug({ path, reason }, 'file not batched');
    },
    empty(batchId: string) {
      log.info({ batchId }, 'batch closed empty: every file was already in flight or transferred');
    },
    recovered(batchId: string, state: string) {
      recovered.inc({ state });
      log.warn({ batchId, state }, 'driving an open batch forward (recovery)');
    },
    submitRetry(batchId: string, code: string, err: string, delayMs: number) {
      submitRetries.inc({ code });
      log.warn({ batchId, code, err, retryInMs: delayMs }, 'submission failed; retrying with the same submission_id');
    },
    rejected(batchId: string, code: string, err: string) {
      log.error({ batchId, code, err }, 'Globus rejected the batch permanently; its files are dead-lettered');
    },
    pending(n: number) {
      pendingTasks.set(n);
    },
    paused(on: boolean, pending: number, max: number) {
      paused.set(on ? 1 : 0);
      if (on) log.warn({ pending, max }, 'Globus task cap reached: consumption paused');
      else log.info({ pending, max }, 'below the task cap again: consumption resumed');
    },
    notified(taskId: string, how: 'broker' | 'broker+http') {
      log.info({ taskId, how }, 'watcher told about the task');
    },
  };
}

export type BatcherTelemetry = ReturnType<typeof batcherTelemetry>;
