import { FileLedger } from '@terra-transfer/ledger';
import { AmqpClient, ConfigError, Lifecycle, closeRedis, createLogger, createRedis, createRegistry, loadConfig, runMain, waitForFile } from '@terra-transfer/platform';
import { loadSites, selectSites, type Site } from '@terra-transfer/sites';
import sharp from 'sharp';
import { LemnatecSource } from './app.js';
import { settings } from './config.js';
import { Scanalyzer, SchemaMismatchError } from './adapters/scanalyzer.js';
import { Staging } from './adapters/staging.js';
import { StateStore } from './adapters/state-store.js';
import { buildLemnatecSourceHttp } from './http.js';

type LemnatecSite = Extract<Site['source'], { kind: 'lemnatec' }>;

runMain('lemnatec-source', async () => {
  const config = loadConfig(settings);
  // No libvips operation cache: every image is new, and raw pixel buffers are used again (adapters/pixel-buffers.ts).
  sharp.cache(false);
  // A site file not there yet (a ConfigMap or volume mounted late): wait, probes answering, instead of exiting.
  await waitForFile(config.SITES_FILE, { key: 'SITES_FILE', host: config.HTTP_HOST, port: config.HTTP_PORT, onWait: (m) => process.stderr.write(`lemnatec-source: ${m}\n`) });
  const siteFile = loadSites(config.SITES_FILE);
  const [site] = selectSites(siteFile, [config.SITE], (s) => s.source.kind === 'lemnatec', 'a lemnatec site');
  const source = site!.source as LemnatecSite;
  // The database URL (with its password) is only in the environment; settings name the variable.
  const dbUrl = process.env[source.database.urlEnv];
  if (!dbUrl) throw new ConfigError([{ key: source.database.urlEnv, problem: `is required: the URL of site ${site!.name}'s LTSystem database (the site file's source.database.urlEnv names this variable)` }]);
  const logger = createLogger({ service: 'lemnatec-source', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  const amqp = new AmqpClient({
    url: config.AMQP_URL, prefix: config.AMQP_PREFIX, side: config.AMQP_SIDE, connectionName: 'lemnatec-source', logger, registry,
    deliveryLimit: config.AMQP_DELIVERY_LIMIT, sites: siteFile.names(),
  });
  lifecycle.onShutdown('amqp', () => amqp.close(config.SHUTDOWN_DRAIN_MS));
  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'lemnatec-source', logger });
  lifecycle.onShutdown('redis', () => closeRedis(redis));
  const scanalyzer = new Scanalyzer(dbUrl, source.columns, { poolSize: config.PG_POOL_SIZE, statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS, connectTimeoutMs: 5_000 });
  lifecycle.onShutdown('database', () => scanalyzer.close());

  const lt = new LemnatecSource({
    site: site!.name, sensor: source.sensor, blobRoot: source.blobRoot, experiments: source.experiments, experimentMetadata: source.experimentMetadata,
    scanalyzer, store: new StateStore(redis, config.REDIS_PREFIX, site!.name), staging: new Staging(source.stagingRoot),
    ledger: new FileLedger(redis, config.REDIS_PREFIX), amqp, logger, registry,
    pollMs: config.POLL_MS, databasesRefreshMs: config.DATABASES_REFRESH_MS, overlapMs: config.OVERLAP_SECONDS * 1000, pollLimit: config.POLL_LIMIT,
    maxInFlight: config.MAX_SNAPSHOTS_IN_FLIGHT, imagesInFlight: config.IMAGES_IN_FLIGHT, stagingMaxBytes: config.STAGING_MAX_BYTES,
    blobAttempts: config.BLOB_ATTEMPTS, blobRetryMs: config.BLOB_RETRY_MS, pngCompression: config.PNG_COMPRESSION, cleanIntervalMs: config.CLEAN_INTERVAL_MS,
  });

  const http = await buildLemnatecSourceHttp({
    logger, registry,
    // database: false while the instrument's database does not answer (the source resumes from its cursor).
    checks: { broker: () => amqp.isConnected(), redis: () => redis.status === 'ready', database: () => lt.ready() },
  });
  lifecycle.onShutdown('http', () => http.close());
  lifecycle.handleSignals();
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });

  await amqp.start();
  await redis.ping();
  try {
    await lt.init();
  } catch (err) {
    // A database without a column the source reads: a configuration problem (exit 78), named.
    if (err instanceof SchemaMismatchError) throw new ConfigError([{ key: `${source.database.urlEnv} (${err.database})`, problem: err.message }]);
    throw err;
  }
  lt.start();
  lifecycle.onShutdown('source', () => lt.stop(config.SHUTDOWN_DRAIN_MS));
  logger.info({ site: site!.name, blobRoot: source.blobRoot, stagingRoot: source.stagingRoot, experiments: source.experiments ?? 'all' }, 'lemnatec-source started');
});
