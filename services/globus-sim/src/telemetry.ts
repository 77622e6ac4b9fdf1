import { counter, type Registry } from '@terra-transfer/platform';
import type { Logger } from 'pino';

/** One function per named occurrence: it logs (structured) and updates its metric. Labels are bounded sets. */
export function createTelemetry(logger: Logger, registry: Registry) {
  const tasks = counter(registry, 'terra_transfer_globus_sim_tasks_total', 'Simulated transfer tasks by outcome', ['outcome']);
  const files = counter(registry, 'terra_transfer_globus_sim_files_total', 'Files handled by the simulator executor', ['outcome']);
  const bytes = counter(registry, 'terra_transfer_globus_sim_bytes_total', 'Bytes copied by the simulator executor');
  const faults = counter(registry, 'terra_transfer_globus_sim_injected_faults_total', 'Injected faults that fired, by kind and endpoint', ['kind', 'endpoint']);
  const rateLimited = counter(registry, 'terra_transfer_globus_sim_rate_limited_total', 'Transfer API requests refused with 429 by the per-owner rate limit');
  return {
    taskAccepted(taskId: string, owner: string, items: number) {
      tasks.inc({ outcome: 'accepted' });
      logger.info({ taskId, owner, items }, 'transfer task accepted');
    },
    taskDuplicate(taskId: string) {
      tasks.inc({ outcome: 'duplicate' });
      logger.info({ taskId }, 'duplicate submission_id: original task returned');
    },
    taskInactive(taskId: string, ms: number) {
      logger.info({ taskId, ms }, 'task INACTIVE (injected credential expiry); it resumes after the given time');
    },
    taskStarted(taskId: string) {
      logger.debug({ taskId }, 'task started');
    },
    taskFinished(taskId: string, status: 'SUCCEEDED' | 'FAILED', reason: string | null, filesTransferred: number, bytesTransferred: number) {
      tasks.inc({ outcome: status === 'SUCCEEDED' ? 'succeeded' : (reason ?? 'failed').toLowerCase() });
      logger.info({ taskId, status, reason, filesTransferred, bytesTransferred }, 'task finished');
    },
    fileCopied(size: number) {
      files.inc({ outcome: 'copied' });
      bytes.inc(size);
    },
    fileSkipped() {
      files.inc({ outcome: 'skipped_sync' });
    },
    fileFault(taskId: string, code: string, path: string) {
      files.inc({ outcome: code.toLowerCase() });
      logger.info({ taskId, code, path }, 'file fault');
    },
    faultFired(kind: string, endpoint: string) {
      faults.inc({ kind, endpoint });
      logger.info({ kind, endpoint }, 'injected fault fired');
    },
    rateLimited(owner: string) {
      rateLimited.inc();
      logger.warn({ owner }, 'rate limit exceeded');
    },
    executorError(taskId: string, err: unknown) {
      logger.error({ taskId, err }, 'executor error');
    },
  };
}

export type Telemetry = ReturnType<typeof createTelemetry>;
