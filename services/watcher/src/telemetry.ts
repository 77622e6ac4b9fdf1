import { Gauge, counter, gauge, histogram, type Logger, type Registry } from '@terra-transfer/platform';
import { TASK_STATES, type TaskOutcome, type TaskState } from './adapters/task-store.js';

/** How tasks close (closed set: the outcome label). */
const OUTCOMES: readonly TaskOutcome[] = ['SUCCEEDED', 'FAILED', 'NOT_FOUND'];

/** The task store's writes that check their starting state (a closed set, the metric's label). */
export type TaskStep = 'completing' | 'closed' | 'observe' | 'cancelled';
const TASK_STEPS: readonly TaskStep[] = ['completing', 'closed', 'observe', 'cancelled'];

/** Named watcher occurrences: each logs and updates its metric. */
export function watcherTelemetry(logger: Logger, registry: Registry) {
  const registered = counter(registry, 'terra_transfer_tasks_registered_total', 'Tasks registered for watching, by how they came (broker, http)', ['via']);
  const watching = gauge(registry, 'terra_transfer_tasks_watching', 'Tasks being watched (not closed)');
  const closed = counter(registry, 'terra_transfer_tasks_closed_total', 'Tasks closed, by outcome', ['outcome']);
  const duration = histogram(registry, 'terra_transfer_task_duration_seconds', 'From submission to the watcher seeing the task end', ['outcome'], [5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400]);
  const cancelled = counter(registry, 'terra_transfer_tasks_cancelled_total', 'Troubled tasks the watcher cancelled, by problem', ['reason']);
  const files = counter(registry, 'terra_transfer_files_completed_total', 'Files of finished tasks, by result (transferred, requeued, failed)', ['result']);
  const failedFiles = counter(registry, 'terra_transfer_files_failed_total', 'Files given up after the last attempt (file.failed), by reason', ['reason']);
  const interval = gauge(registry, 'terra_transfer_poll_interval_seconds', 'Current interval between task-list polls');
  const leader = gauge(registry, 'terra_transfer_watcher_poll_leader', '1 while this watcher instance holds the poll lease (one instance polls Globus; the others complete tasks and stand by)');
  const refused = counter(registry, 'terra_transfer_task_transitions_refused_total', 'Task store writes refused because the task was not in their starting state (another instance moved it on), by step', ['step']);
  const log = logger.child({ component: 'watcher' });
  for (const step of TASK_STEPS) refused.inc({ step }, 0);
  // Every series whose label values are a closed set exists from the start, so rate() and increase() answer 0, not nothing.
  for (const via of ['broker', 'http']) registered.inc({ via }, 0);
  for (const outcome of OUTCOMES) closed.inc({ outcome }, 0);
  for (const result of ['transferred', 'requeued', 'failed']) files.inc({ result }, 0);
  return {
    /**
     * terra_transfer_tasks{state}: the tasks of the watcher's Redis store by state, read from its
     * state indexes (three ZCARDs) at each scrape. A failed read keeps the last values and is logged.
     */
    tasksByState(read: () => Promise<Record<TaskState, number>>) {
      if (registry.getSingleMetric('terra_transfer_tasks')) return;
      const byState = new Gauge({
        name: 'terra_transfer_tasks',
        help: 'Globus tasks known to the watcher, by state (watching, completing; closed: closed in the last 30 days), from its Redis indexes at each scrape',
        labelNames: ['state'],
        registers: [registry],
        async collect() {
          try {
            const counts = await read();
            for (const state of TASK_STATES) this.set({ state }, counts[state]);
          } catch (err) {
            log.warn({ err }, 'tasks by state: Redis did not answer; the gauge keeps its last values');
          }
        },
      });
      for (const state of TASK_STATES) byState.set({ state }, 0);
    },
    /** A write found the task in another state than it starts from: nothing was written. */
    refused(taskId: string, step: TaskStep, state: string | null) {
      refused.inc({ step });
      log.warn({ taskId, step, state }, 'task store write refused: the task is not in the state it starts from');
    },
    pollLeader(instance: string, on: boolean) {
      leader.set(on ? 1 : 0);
      log.info({ instance, leader: on }, on ? 'this watcher polls Globus now (poll lease taken)' : 'another watcher polls Globus; this one stands by');
    },
    registered(taskId: string, via: 'broker' | 'http', files: number, isNew: boolean) {
      if (isNew) registered.inc({ via });
      log.info({ taskId, via, files, isNew }, isNew ? 'task registered' : 'task already known');
    },
    watching(n: number) {
      watching.set(n);
    },
    interval(ms: number) {
      interval.set(ms / 1000);
    },
    troubled(taskId: string, reason: string) {
      log.warn({ taskId, reason }, 'task reports a problem');
    },
    cancelling(taskId: string, reason: string, forMs: number) {
      cancelled.inc({ reason: reason.slice(0, 40) });
      log.warn({ taskId, reason, troubledForS: Math.round(forMs / 1000) }, 'task troubled too long: cancelling it, its files will be sent again');
    },
    notFound(taskId: string) {
      log.error({ taskId }, 'Globus does not know the task (404): its files are sent again');
    },
    completed(taskId: string, outcome: string, submittedAt: string, counts: { transferred: number; requeued: number; failed: number }) {
      closed.inc({ outcome });
      duration.observe({ outcome }, Math.max(0, (Date.now() - Date.parse(submittedAt)) / 1000));
      files.inc({ result: 'transferred' }, counts.transferred);
      files.inc({ result: 'requeued' }, counts.requeued);
      files.inc({ result: 'failed' }, counts.failed);
      log.info({ taskId, outcome, ...counts }, 'task closed');
    },
    fileFailed(path: string, reason: string, attempts: number, taskId: string) {
      failedFiles.inc({ reason: reason.slice(0, 40) });
      log.error({ path, reason, attempts, taskId }, 'file given up after its last attempt (file.failed)');
    },
    pollFailed(err: string, retryInMs: number) {
      log.warn({ err, retryInMs }, 'poll failed; retrying');
    },
  };
}

export type WatcherTelemetry = ReturnType<typeof watcherTelemetry>;
