import type { ErrorCode, RetryCode, UnavailableCode } from '@terra-transfer/platform';
import type { EventStatus } from './core/events.js';
import type { BatchSummary } from './telemetry.js';

/**
 * The messages between the main thread (AMQP, HTTP, metrics) and the writer
 * thread (parsing, batching, PostgreSQL). Closed unions: each side handles
 * every variant.
 */

/** What the writer thread needs to start: plain data (it opens its own PostgreSQL pool). */
export interface WriterThreadData {
  pg: { url: string; statementTimeoutMs: number; connectTimeoutMs: number; max: number };
  batchSize: number;
  maxWaitMs: number;
  retentionDays: number;
  aheadDays: number;
  logLevel: string;
}

/** One delivery inside a `deliveries` message; its body is `length` bytes of the message's buffer, after the previous ones. */
export interface PostedDelivery {
  seq: number;
  length: number;
  routingKey: string;
  messageId: string | undefined;
  timestamp: number | undefined;
}

export type ToWriter =
  /** Deliveries to record; `bodies` (transferred, not copied) holds their bodies one after another. */
  | { type: 'deliveries'; bodies: ArrayBuffer; items: PostedDelivery[] }
  /** Write whatever is pending now, then answer `flushed` with the same id. */
  | { type: 'flush'; id: number }
  /** Write what is pending, close the pool, answer `closed`; the thread then ends. */
  | { type: 'close' };

/** Why a batch was not written, as the consumer's retry decision needs it (rebuilt as an error class on the main thread). */
/** `unavailable`: PostgreSQL does not answer (the consumer holds its deliveries until a probe passes); `transient`: requeue. */
export type WriteError = ({ kind: 'unavailable'; code: UnavailableCode } | { kind: 'transient'; code: RetryCode }) & {
  message: string;
  /** PostgreSQL's SQLSTATE, when it gave one. */
  upstreamCode?: string;
};

/** A named occurrence of the writer (see telemetry.ts): the main thread calls the function of the same name. */
export type WriterOccurrence =
  | { name: 'batchWritten'; summary: BatchSummary }
  | { name: 'storedRaw'; eventId: string; eventType: string; version: number | null; status: EventStatus }
  | { name: 'writeFailed'; code: ErrorCode; message: string; events: number }
  | { name: 'eventIsolated'; eventId: string; outcome: 'written_alone' | 'stored_as_bytes'; err: string };

export type FromWriter =
  | { type: 'ready' }
  /** Deliveries whose batch committed (`done`), or failed (`failed`, all with the same error). */
  | { type: 'settled'; done: number[]; failed: Array<{ seqs: number[]; error: WriteError }> }
  /** Newest event time applied and last commit, epoch ms. */
  | { type: 'progress'; newestEvent: number | undefined; lastCommit: number | undefined }
  | { type: 'telemetry'; occurrence: WriterOccurrence }
  | { type: 'flushed'; id: number }
  | { type: 'closed' };
