/*
 * ─────────────────────────────────────────────────────────────────────────────
 *  WIRE CONTRACT. Exchange, queue and routing-key names are shared by every
 *  service and by deployed brokers. Do not rename one without a migration
 *  (declare the new name, move the bindings, drain the old queue).
 * ─────────────────────────────────────────────────────────────────────────────
 */
import type { MessageType } from './registry.js';

/** Consumer queues: who consumes what. */
export const QUEUES = {
  batcherUploads: { name: 'batcher.file-uploaded', bindings: ['file.uploaded'] },
  watcherTasks: { name: 'watcher.task-submitted', bindings: ['task.submitted'] },
  cleanerTransfers: { name: 'cleaner.file-transferred', bindings: ['file.transferred'] },
  ingestTransfers: { name: 'ingest.file-transferred', bindings: ['file.transferred'] },
  /** Files that could not be transferred; kept for operators (inspect or shovel back). */
  failedFiles: { name: 'file-failed', bindings: ['file.failed'] },
  /**
   * Terminal outcomes (deleted from the cache, registered in Clowder), so
   * every publish is routable and the per-file status view can follow each
   * file to its end.
   */
  outcomes: { name: 'file-outcomes', bindings: ['file.deleted', 'file.ingested'] },
} as const satisfies Record<string, { name: string; bindings: readonly MessageType[] }>;

export type QueueKey = keyof typeof QUEUES;

export interface Topology {
  /** Topic exchange every event is published to, with the event type as routing key. */
  eventsExchange: string;
  /** Exchange dead letters go to; routing key = the source queue's full name. */
  deadLetterExchange: string;
  queue(key: QueueKey): string;
  deadLetterQueue(key: QueueKey): string;
  /** Every consumer queue with its bindings, for declaration. */
  queues(): Array<{ key: QueueKey; name: string; deadLetter: string; bindings: readonly MessageType[] }>;
}

/**
 * Names under a prefix. Production uses the default `terra`; tests use a
 * fresh prefix each so they never touch each other's queues.
 */
export function topology(prefix = 'terra'): Topology {
  const queue = (key: QueueKey) => `${prefix}.${QUEUES[key].name}`;
  const deadLetterQueue = (key: QueueKey) => `${queue(key)}.dlq`;
  return {
    eventsExchange: `${prefix}.events`,
    deadLetterExchange: `${prefix}.dlx`,
    queue,
    deadLetterQueue,
    queues: () =>
      (Object.keys(QUEUES) as QueueKey[]).map((key) => ({ key, name: queue(key), deadLetter: deadLetterQueue(key), bindings: QUEUES[key].bindings })),
  };
}
