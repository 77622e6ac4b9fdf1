/*
 * ─────────────────────────────────────────────────────────────────────────────
 *  WIRE CONTRACT. Exchange, queue and routing-key names are shared by every
 *  service and by deployed brokers. Do not rename one without a migration
 *  (declare the new name, move the bindings, drain the old queue).
 * ─────────────────────────────────────────────────────────────────────────────
 */
import { MESSAGE_TYPES, type MessageType } from './registry.js';

/** Consumer queues: who consumes what. */
export const QUEUES = {
  batcherUploads: { name: 'batcher.file-uploaded', bindings: ['file.uploaded'] },
  watcherTasks: { name: 'watcher.task-submitted', bindings: ['task.submitted'] },
  cleanerTransfers: { name: 'cleaner.file-transferred', bindings: ['file.transferred'] },
  ingestTransfers: { name: 'ingest.file-transferred', bindings: ['file.transferred'] },
  /** Give-ups (file.failed): the cleaner records them in the site's ledger and schedules the resend. */
  cleanerFailures: { name: 'cleaner.file-failed', bindings: ['file.failed'] },
  /**
   * A tap of give-ups for operators and tests following files. Bounded (oldest
   * dropped), not dead-lettered: the ledger, the cleaner's API and its metrics
   * are the record. Replaces the unconsumed holding queue `file-failed`, which
   * grew forever (migration: shovel `<prefix>.file-failed` into
   * `<prefix>.cleaner.file-failed`, then delete it and its `.dlq`).
   */
  failedFiles: { name: 'file-failures', bindings: ['file.failed'], tap: true },
  /**
   * A tap of terminal outcomes (deleted from the cache, registered in
   * Clowder): every publish is routable, and the demo, the benchmarks and
   * operators can follow files to their end. Bounded (oldest dropped), not
   * dead-lettered: nothing depends on consuming it.
   */
  outcomes: { name: 'file-outcomes', bindings: ['file.deleted', 'file.ingested'], tap: true },
  /**
   * Log lines the log-tailer must not guess about (ambiguous names, paths
   * outside the cache root): published raw to the dead-letter exchange with
   * this queue's name as routing key, so they land in its DLQ, with the
   * reason in headers, for an operator. Nothing is bound to the queue itself.
   */
  tailerRejects: { name: 'log-tailer.rejects', bindings: [] },
  /**
   * The transfer log (PostgreSQL) records every event: bound to every type
   * the contracts know, so an event type added there is recorded without a
   * change here. Not `#`: a routing key no contract names must stay
   * unroutable, so its publisher fails (UNROUTABLE) instead of only being logged.
   */
  transferLog: { name: 'transfer-log.events', bindings: MESSAGE_TYPES },
} as const satisfies Record<string, { name: string; bindings: readonly MessageType[]; tap?: true }>;

export type QueueKey = keyof typeof QUEUES;

export interface Topology {
  /** Topic exchange every event is published to, with the event type as routing key. */
  eventsExchange: string;
  /** Exchange dead letters go to; routing key = the source queue's full name. */
  deadLetterExchange: string;
  queue(key: QueueKey): string;
  deadLetterQueue(key: QueueKey): string;
  /** Every consumer queue with its bindings, for declaration. `tap` queues are bounded and not dead-lettered. */
  queues(): Array<{ key: QueueKey; name: string; deadLetter: string; bindings: readonly MessageType[]; tap: boolean }>;
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
      (Object.keys(QUEUES) as QueueKey[]).map((key) => ({ key, name: queue(key), deadLetter: deadLetterQueue(key), bindings: QUEUES[key].bindings, tap: 'tap' in QUEUES[key] })),
  };
}
