import { topology, type MessageType } from '@terra-transfer/contracts';
import { buildHttp, type AmqpClient, type Consumer, type HttpApp, type Logger, type Registry } from '@terra-transfer/platform';
import { DeadLetterDepths, otherBroker, ownBroker, type DeadLetterSource } from './adapters/dead-letters.js';
import { ping, type Pool } from './adapters/db.js';
import { Partitions } from './adapters/partitions.js';
import type { TransferLogConfig } from './config.js';
import { logRoutes } from './routes/log-api.js';
import { statusPage } from './routes/status-page.js';
import { transferLogTelemetry } from './telemetry.js';
import { WriterThread } from './writer-thread.js';

export interface TransferLogDeps {
  config: TransferLogConfig;
  amqp: AmqpClient;
  /** Reads (the API, the status page, readiness). */
  pool: Pool;
  /**
   * Partition maintenance, on connections of its own so a burst of lookups
   * never queues it; the read pool when absent. (Batches are written by the
   * writer thread on its own pool.)
   */
  writePool?: Pool;
  /** The PostgreSQL the writer thread opens its pool on (DATABASE_URL when absent). */
  writerDatabaseUrl?: string;
  /** Path lookups, on sessions that keep generic plans (createPool's genericPlans); the read pool when absent. */
  lineagePool?: Pool;
  logger: Logger;
  registry: Registry;
}

export interface TransferLog {
  http: HttpApp;
  writer: WriterThread;
  partitions: Partitions;
  /** Runs partition maintenance once now (also on its schedule once started). */
  maintain(): Promise<void>;
  /** Creates today's partitions, starts the writer thread, then starts consuming and the maintenance schedule. */
  start(): Promise<void>;
  /**
   * Stops intake, writes what is pending, stops the schedule and the writer thread (which closes its own pool).
   * Idempotent; the other connections are closed by the caller.
   */
  stop(): Promise<void>;
}

/**
 * Where the status reads dead-letter depths: the service's own broker (its side's queues, or every queue on
 * one broker) and, with two brokers and SITE_AMQP_URL, the site's broker for the queues the contract puts there.
 */
function deadLetterSources(c: TransferLogConfig, amqp: AmqpClient): DeadLetterSource[] {
  const own = ownBroker(amqp, c.AMQP_SIDE);
  if (c.SITE_AMQP_URL === undefined || amqp.topology.side !== 'datacentre') return [own];
  const site = topology(c.AMQP_PREFIX, amqp.topology.sites, 'site');
  return [own, otherBroker({ broker: 'site', urls: c.SITE_AMQP_URL, queues: site.queues() })];
}

/** Builds the transfer log from its dependencies; never listens (main.ts does). */
export async function buildTransferLog(deps: TransferLogDeps): Promise<TransferLog> {
  const { config: c, amqp, pool, logger, registry } = deps;
  const writePool = deps.writePool ?? pool;
  let consumer: Consumer<MessageType> | undefined;
  // Read only when the gauge is collected, after the writer below exists.
  const lag = () => {
    const newest = writer.progress.newestEvent;
    return newest ? Math.max(0, (Date.now() - newest.getTime()) / 1000) : undefined;
  };
  const telemetry = transferLogTelemetry(logger, registry, lag);
  const partitions = new Partitions(writePool, c.RETENTION_DAYS, c.PARTITIONS_AHEAD_DAYS);
  // The writer's CPU work (parsing, batching, building statements) on a thread of its own, away from HTTP (decision 0030).
  const writer = new WriterThread(
    {
      pg: { url: deps.writerDatabaseUrl ?? c.DATABASE_URL, statementTimeoutMs: c.PG_STATEMENT_TIMEOUT_MS, connectTimeoutMs: c.PG_CONNECT_TIMEOUT_MS, max: 2 },
      batchSize: c.BATCH_SIZE,
      maxWaitMs: c.BATCH_MAX_WAIT_MS,
      retentionDays: c.RETENTION_DAYS,
      aheadDays: c.PARTITIONS_AHEAD_DAYS,
      logLevel: c.LOG_LEVEL,
    },
    telemetry,
    c.SHUTDOWN_DRAIN_MS,
  );

  const http = await buildHttp({
    service: 'transfer-log',
    description: 'The log of files transferred: every pipeline event in PostgreSQL; lineage per file, volumes per site and sensor, failures, daily reports.',
    tags: [
      { name: 'files', description: 'File versions: lineage by path, and versions stuck in a state.' },
      { name: 'volumes', description: 'Files and bytes that arrived, per site and sensor.' },
      { name: 'failures', description: 'Files given up (file.failed).' },
      { name: 'reports', description: 'The daily report.' },
      { name: 'status', description: 'Per-site summary and the health of the log.' },
    ],
    logger,
    registry,
    authToken: c.READ_TOKEN,
    checks: {
      broker: () => amqp.isConnected(),
      postgres: () => ping(pool),
      writer: () => writer.running,
    },
  });
  const deadLetters = new DeadLetterDepths(deadLetterSources(c, amqp), (err, broker) => telemetry.deadLettersUnread(err, broker));
  logRoutes(http, pool, {
    progress: () => ({ ...writer.progress, waiting: writer.pending, waitingForPostgres: consumer?.unavailable === 'postgres' }),
    behindAfterSeconds: c.BEHIND_AFTER_SECONDS,
    deadLetters: () => deadLetters.depths(),
  }, c.READ_TOKEN !== undefined, deps.lineagePool ?? pool);
  await statusPage(http);

  let timer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  const maintain = async () => {
    try {
      const r = await partitions.maintain();
      telemetry.partitionsChanged(r.created, r.dropped, r.defaultRowsDeleted);
    } catch (err) {
      telemetry.maintenanceFailed(err);
    }
  };

  return {
    http,
    writer,
    partitions,
    maintain,
    async start() {
      await partitions.load();
      await maintain();
      await writer.start();
      timer = setInterval(() => void maintain(), c.MAINTENANCE_INTERVAL_MINUTES * 60_000);
      timer.unref();
      consumer = amqp.consumeRaw('transferLog', (delivery) => writer.add(delivery), {
        prefetch: c.PREFETCH,
        // A batch's deliveries settle together after its commit: one ack (multiple) for them, not one each.
        groupAcks: true,
        // PostgreSQL down: the consumer holds its deliveries (giving back uncounted those held past OUTAGE_HOLD_MS) until this passes.
        probe: async () => {
          if (!(await ping(pool))) throw new Error('PostgreSQL does not answer');
        },
        outageHoldMs: c.OUTAGE_HOLD_MS,
      });
    },
    stop() {
      stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await Promise.all([consumer?.stop(c.SHUTDOWN_DRAIN_MS), writer.flush(), deadLetters.close()]);
        // Nothing more comes in: the thread writes what it still holds, closes its pool and ends.
        await writer.stop();
      })();
      return stopped;
    },
  };
}
