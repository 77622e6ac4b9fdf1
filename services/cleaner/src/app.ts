import { transferredChunk, type Message, type MessageType } from '@terra-transfer/contracts';
import { FileLedger } from '@terra-transfer/ledger';
import { buildHttp, type AmqpClient, type Consumer, type DeliveryContext, type HttpApp, type Logger, type Redis, type Registry } from '@terra-transfer/platform';
import { CacheFs } from './adapters/cache-fs.js';
import { cacheUsage } from './adapters/cache-usage.js';
import { SweepStore } from './adapters/sweep-store.js';
import type { CleanerConfig } from './config.js';
import { createDeleter } from './deleter.js';
import { createFailureRecorder, FailedResender } from './failures.js';
import { resendDelays } from './core/resend.js';
import { failedFileRoutes } from './routes/failed-files.js';
import { fileRoutes } from './routes/files.js';
import { ledgerLookupRoutes } from './routes/ledger-lookup.js';
import { createSubmitter, type Submit } from './submitter.js';
import { sweepRoutes } from './routes/sweeps.js';
import { Sweeper } from './sweeper.js';
import { cleanerTelemetry } from './telemetry.js';

export interface CleanerDeps {
  config: CleanerConfig;
  amqp: AmqpClient;
  redis: Redis;
  logger: Logger;
  registry: Registry;
}

export interface Cleaner {
  http: HttpApp;
  sweeper: Sweeper;
  /** A file.transferred chunk (decision 0053); ctx: the delivery's (dead-lettering one file alone). */
  handleTransferred: (event: Message<'file.transferred'>, ctx: Pick<DeliveryContext<'file.transferred'>, 'lastDelivery' | 'deadLetterPart'>) => Promise<void>;
  /** Records a give-up (file.failed) in the ledger. */
  handleFailed: (event: Message<'file.failed'>) => Promise<void>;
  resender: FailedResender;
  /** A manual submission (POST /api/v1/files). */
  submit: Submit;
  /** Starts consuming, the sweep and resend schedules and the cache gauges. */
  start(): Promise<void>;
  /** Stops intake, the schedule and the running sweep. Idempotent; connections are closed by the caller. */
  stop(): Promise<void>;
}

/** Builds the cleaner from its dependencies; never listens (main.ts does). */
export async function buildCleaner(deps: CleanerDeps): Promise<Cleaner> {
  const { config: c, amqp, redis, logger, registry } = deps;
  const telemetry = cleanerTelemetry(logger, registry, c.SITE);
  const fs = await CacheFs.open(c.CACHE_ROOT);
  // The failed index is the site's: another site's cleaner resends its own failed files.
  const ledger = new FileLedger(redis, c.REDIS_PREFIX, c.DELETED_TTL_HOURS * 3600_000, c.SITE);
  const publish = <T extends MessageType>(event: Message<T>) => amqp.publish(event);

  const deleter = createDeleter(
    {
      site: c.SITE,
      whitelist: c.WHITELIST,
      deleteParentDepth: c.DELETE_PARENT_DEPTH,
      emptyDirGraceMs: c.EMPTY_DIR_GRACE_SECONDS * 1000,
      changedSettleMs: c.CHANGED_SETTLE_SECONDS * 1000,
      verifyLocalChecksum: c.VERIFY_LOCAL_CHECKSUM,
    },
    { fs, ledger, publish, telemetry },
  );
  // A site whose policy is never keeps its files: the arrival is what the cleaner records (ledger transferred, so the sweep does not send it again).
  const handleTransferred: Cleaner['handleTransferred'] = c.DELETION_POLICY === 'never'
    ? async (event) => {
      const { taskId, files } = transferredChunk(event);
      await ledger.markTransferredMany(files.map((f) => ({ path: f.path, version: f, taskId, checksum: f.checksum })));
      for (const f of files) telemetry.keptByPolicy(f.path, taskId);
    }
    : deleter;
  const submit = createSubmitter({ site: c.SITE, whitelist: c.WHITELIST }, { fs, ledger, publish, telemetry });

  const handleFailed = createFailureRecorder(resendDelays(c.FAILED_RESEND_BACKOFF_SECONDS * 1000, c.FAILED_RESEND_BACKOFF_MAX_SECONDS * 1000), { ledger, telemetry });
  const resender = new FailedResender(
    {
      site: c.SITE,
      settleMs: c.CHANGED_SETTLE_SECONDS * 1000,
      checkMs: c.FAILED_RESEND_CHECK_SECONDS * 1000,
      keptRecheckMs: c.FAILED_RESEND_BACKOFF_MAX_SECONDS * 1000,
      batch: c.FAILED_RESEND_BATCH,
    },
    { fs, ledger, publish, telemetry, logger },
  );

  const sweeper = new Sweeper(
    {
      site: c.SITE,
      cacheRoot: fs.root,
      realRoot: fs.realRoot,
      whitelist: c.WHITELIST,
      minAgeMs: c.SWEEP_MIN_AGE_MINUTES * 60_000,
      chunk: c.SWEEP_CHUNK,
      publishWindow: c.SWEEP_PUBLISH_WINDOW,
      lockTtlMs: c.SWEEP_LOCK_TTL_MS,
      schedule: { intervalMs: c.SWEEP_INTERVAL_MINUTES * 60_000, dailyAt: c.SWEEP_DAILY_AT },
    },
    { ledger, redis, store: new SweepStore(redis, c.REDIS_PREFIX, c.SITE), publish, telemetry, logger },
  );

  const http = await buildHttp({
    service: 'cleaner',
    description: 'Deletes cache files after verified transfers; sweeps up files that were never sent.',
    tags: [
      { name: 'files', description: "Files of the site's cache: send them now, or see and resend those given up." },
      { name: 'ledger', description: "The site ledger: each file's state, version and ids." },
      { name: 'sweeps', description: 'Walks of the cache that send files with no record of being sent.' },
    ],
    logger,
    registry,
    authToken: c.API_TOKEN,
    checks: {
      broker: () => amqp.isConnected(),
      redis: () => redis.status === 'ready',
      cache: async () => (await cacheUsage(fs.realRoot)).size > 0,
    },
  });
  sweepRoutes(http, sweeper);
  failedFileRoutes(http, resender);
  fileRoutes(http, c.SITE, submit);
  ledgerLookupRoutes(http, ledger);

  let consumer: Consumer<'file.transferred'> | undefined;
  let failuresConsumer: Consumer<'file.failed'> | undefined;
  let usageTimer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;

  let censusTimer: NodeJS.Timeout | undefined;
  let census: Promise<void> | undefined;
  // One census at a time: a slow pass (a large ledger) is not stacked under the next tick.
  const refreshCensus = () => (census ??= (async () => {
    const started = performance.now();
    try {
      telemetry.ledgerCensus(await ledger.countByState(c.SITE), (performance.now() - started) / 1000);
    } catch (err) {
      telemetry.ledgerCensusFailed(err);
    } finally {
      census = undefined;
    }
  })());

  const refreshUsage = async () => {
    try {
      const u = await cacheUsage(fs.realRoot);
      telemetry.cacheUsage(u.size, u.used, u.free);
    } catch (err) {
      telemetry.cacheUsageFailed(err);
    }
  };

  return {
    http,
    sweeper,
    handleTransferred,
    handleFailed,
    resender,
    submit,
    async start() {
      await refreshUsage();
      await sweeper.restoreGauges();
      usageTimer = setInterval(() => void refreshUsage(), c.STATFS_INTERVAL_SECONDS * 1000);
      usageTimer.unref();
      // Not awaited: on a large ledger the census takes seconds, and consumption need not wait for a gauge.
      void refreshCensus();
      censusTimer = setInterval(() => void refreshCensus(), c.LEDGER_CENSUS_INTERVAL_SECONDS * 1000);
      censusTimer.unref();
      consumer = amqp.consume({ key: 'cleanerTransfers', site: c.SITE }, 'file.transferred', (event, ctx) => handleTransferred(event, ctx), { prefetch: c.TRANSFER_PREFETCH });
      failuresConsumer = amqp.consume({ key: 'cleanerFailures', site: c.SITE }, 'file.failed', (event) => handleFailed(event), { prefetch: c.PREFETCH });
      sweeper.startSchedule();
      resender.start();
    },
    stop() {
      stopped ??= (async () => {
        if (usageTimer) clearInterval(usageTimer);
        if (censusTimer) clearInterval(censusTimer);
        await census;
        await Promise.all([consumer?.stop(c.SHUTDOWN_DRAIN_MS), failuresConsumer?.stop(c.SHUTDOWN_DRAIN_MS), sweeper.close(), resender.close()]);
      })();
      return stopped;
    },
  };
}
