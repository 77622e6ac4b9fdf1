import { counter, Gauge, histogram, tally, type ErrorCode, type Logger, type Registry, type Tally } from '@terra-transfer/platform';
import type { EventStatus } from './core/events.js';

/**
 * What one committed batch did, summed (the writer runs in a thread of its own and posts this to the
 * main thread, which holds the metrics): events by type label and outcome, arrivals by site and sensor.
 */
export interface BatchSummary {
  events: number;
  inserted: number;
  /** [type label, outcome (recorded, duplicate, or the status it was stored raw with), count] */
  outcomes: Array<[string, string, number]>;
  arrivals: Array<{ site: string; sensor: string; files: number; bytes: number }>;
  seconds: number;
}

/** The writer's own occurrences: the writer thread posts each to the main thread, which calls the function of the same name. */
export type WriterTelemetry = Pick<TransferLogTelemetry, 'batchWritten' | 'storedRaw' | 'writeFailed' | 'eventIsolated'>;

/** Named occurrences of the transfer log: each logs and updates its metric; nothing else does either. */
export function transferLogTelemetry(logger: Logger, registry: Registry, lag: () => number | undefined) {
  const events = counter(registry, 'terra_transfer_log_events_total', 'Events the transfer log received, by type (unknown types: other) and outcome (recorded, duplicate, or the reason it was stored raw)', ['type', 'outcome']);
  const bytes = counter(registry, 'terra_transfer_bytes_total', 'Bytes that arrived at the destination (file.transferred), each version once, by site and sensor', ['site', 'sensor']);
  const files = counter(registry, 'terra_transfer_files_total', 'Files (versions) that arrived at the destination (file.transferred), each once, by site and sensor', ['site', 'sensor']);
  const batchSeconds = histogram(registry, 'terra_transfer_log_batch_duration_seconds', 'Time to write one batch (one transaction)', [], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  const batchEvents = histogram(registry, 'terra_transfer_log_batch_events', 'Events per written batch', [], [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000]);
  const writeFailures = counter(registry, 'terra_transfer_log_write_failures_total', 'Batches that failed to commit, by code (given back to the queue)', ['code']);
  const isolated = counter(registry, 'terra_transfer_log_events_isolated_total', 'Events PostgreSQL refused inside a batch, written alone (raw bytes only when even that failed)', ['outcome']);
  const partitions = counter(registry, 'terra_transfer_log_partitions_total', 'Day partitions of the raw log created or dropped (retention)', ['action']);
  const deadLetterReads = counter(registry, 'terra_transfer_log_dead_letter_read_errors_total', 'Dead-letter queue depths the status could not read, by broker (both, site, datacentre)', ['broker']);
  const threadFailures = counter(registry, 'terra_transfer_log_writer_thread_failures_total', 'Times the writer thread failed (its deliveries were given back to the queue and a new thread started)');
  const maintenanceErrors = counter(registry, 'terra_transfer_log_maintenance_errors_total', 'Partition maintenance runs that failed (retried at the next interval)');
  // Evaluated at each scrape: the age keeps growing between batches (and while PostgreSQL is down).
  if (!registry.getSingleMetric('terra_transfer_log_lag_seconds')) {
    new Gauge({
      name: 'terra_transfer_log_lag_seconds',
      help: 'Age of the newest event the log applied (grows while events wait or PostgreSQL is down)',
      registers: [registry],
      collect() {
        const l = lag();
        if (l === undefined) this.reset();
        else this.set(l);
      },
    });
  }
  const log = logger.child({ component: 'transfer-log' });
  const outcomes = new Map<string, Tally>();
  const outcome = (type: string, o: string) => {
    const k = `${type}|${o}`;
    let t = outcomes.get(k);
    if (!t) outcomes.set(k, (t = tally(events, { type, outcome: o })));
    return t;
  };

  return {
    batchWritten(b: BatchSummary) {
      batchSeconds.observe(b.seconds);
      batchEvents.observe(b.events);
      for (const [type, o, n] of b.outcomes) outcome(type, o).inc(n);
      let arrived = 0;
      for (const a of b.arrivals) {
        bytes.inc({ site: a.site, sensor: a.sensor }, a.bytes);
        files.inc({ site: a.site, sensor: a.sensor }, a.files);
        arrived += a.files;
      }
      log.debug({ events: b.events, inserted: b.inserted, arrivals: arrived, seconds: b.seconds }, 'batch written');
    },
    storedRaw(e: { eventId: string; type: string; version: number | null }, status: EventStatus) {
      log.warn({ eventId: e.eventId, type: e.type, version: e.version, status }, 'event stored raw, not applied');
    },
    writeFailed(code: ErrorCode, message: string, events: number) {
      writeFailures.inc({ code });
      log.warn({ code, err: message, events }, 'batch not written; deliveries given back');
    },
    eventIsolated(eventId: string, outcome: 'written_alone' | 'stored_as_bytes', err: string) {
      isolated.inc({ outcome });
      log.warn({ eventId, outcome, err }, 'event refused inside a batch, written alone');
    },
    partitionsChanged(created: readonly string[], dropped: readonly string[], defaultRowsDeleted: number) {
      if (created.length) partitions.inc({ action: 'created' }, created.length);
      if (dropped.length) partitions.inc({ action: 'dropped' }, dropped.length);
      if (created.length || dropped.length || defaultRowsDeleted) log.info({ created, dropped, defaultRowsDeleted }, 'raw log partitions maintained');
    },
    deadLettersUnread(err: unknown, broker: 'both' | 'site' | 'datacentre') {
      deadLetterReads.inc({ broker });
      log.warn({ err, broker }, 'dead-letter queue depth not read; the status shows it as unknown');
    },
    writerThreadFailed(err: unknown, deliveries: number) {
      threadFailures.inc();
      log.error({ err, deliveries }, 'writer thread failed; its deliveries are given back and a new thread starts');
    },
    maintenanceFailed(err: unknown) {
      maintenanceErrors.inc();
      log.warn({ err }, 'partition maintenance failed; retried at the next interval');
    },
  };
}

export type TransferLogTelemetry = ReturnType<typeof transferLogTelemetry>;
