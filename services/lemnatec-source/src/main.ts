import { FileLedger } from '@terra-transfer/ledger';
import { ConfigError, bootService, env, loadConfig, runMain, siteLeader } from '@terra-transfer/platform';
import { loadSites, selectSites, type Site } from '@terra-transfer/sites';
import sharp from 'sharp';
import { LemnatecSource } from './app.js';
import { settings } from './config.js';
import { Scanalyzer, SchemaMismatchError } from './adapters/scanalyzer.js';
import { Staging } from './adapters/staging.js';
import { StateStore } from './adapters/state-store.js';
import { buildLemnatecSourceHttp } from './http.js';

type LemnatecSite = Extract<Site['source'], { kind: 'lemnatec' }>;

/**
 * The instrument database's URL (with its password) is only in the environment; the site file names the variable
 * (source.database.urlEnv). Read through loadConfig like any setting: missing or not a PostgreSQL URL exits 78, naming it.
 */
function databaseUrl(site: Site): string {
  const key = (site.source as LemnatecSite).database.urlEnv;
  const spec = { [key]: env.url(`the URL of site ${site.name}'s LTSystem database (the site file's source.database.urlEnv names this variable)`, { protocols: ['postgres', 'postgresql'], secret: true }) };
  return loadConfig(spec)[key]!;
}

runMain('lemnatec-source', async () => {
  const config = loadConfig(settings);
  // No libvips operation cache: every image is new, and raw pixel buffers are used again (adapters/pixel-buffers.ts).
  sharp.cache(false);
  const { logger, registry, lifecycle, redis, amqp, prepared: { site, dbUrl }, serve } = await bootService({
    service: 'lemnatec-source', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(config.SITES_FILE);
      const [site] = selectSites(siteFile, [config.SITE], (s) => s.source.kind === 'lemnatec', 'a lemnatec site');
      return { site: site!, all: siteFile.names(), dbUrl: databaseUrl(site!) };
    },
    redis: true, amqp: (p) => ({ sites: p.all }),
  });
  const source = site.source as LemnatecSite;
  const scanalyzer = new Scanalyzer(dbUrl, source.columns, { poolSize: config.PG_POOL_SIZE, statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS, connectTimeoutMs: 5_000 });
  lifecycle.onShutdown('database', () => scanalyzer.close());

  const lt = new LemnatecSource({
    site: site.name, sensor: source.sensor, blobRoot: source.blobRoot, experiments: source.experiments, experimentMetadata: source.experimentMetadata,
    scanalyzer, store: new StateStore(redis, config.REDIS_PREFIX, site.name), staging: new Staging(source.stagingRoot),
    ledger: new FileLedger(redis, config.REDIS_PREFIX), amqp, logger, registry,
    pollMs: config.POLL_MS, databasesRefreshMs: config.DATABASES_REFRESH_MS, overlapMs: config.OVERLAP_SECONDS * 1000, pollLimit: config.POLL_LIMIT,
    maxInFlight: config.MAX_SNAPSHOTS_IN_FLIGHT, imagesInFlight: config.IMAGES_IN_FLIGHT, stagingMaxBytes: config.STAGING_MAX_BYTES,
    blobAttempts: config.BLOB_ATTEMPTS, blobRetryMs: config.BLOB_RETRY_MS, pngCompression: config.PNG_COMPRESSION, cleanIntervalMs: config.CLEAN_INTERVAL_MS,
  });

  // Two sources of one instrument would export every snapshot twice into one staging folder: only the holder of the site's lease works.
  const leader = siteLeader({ enabled: config.LEADER_LOCK, service: 'lemnatec-source', site: site.name, prefix: config.REDIS_PREFIX, ttlMs: config.LEADER_LEASE_MS, redis, logger, lifecycle, registry });

  const http = await buildLemnatecSourceHttp({
    logger, registry,
    // database: false while the instrument's database does not answer (the source resumes from its cursor).
    checks: { broker: () => amqp.isConnected(), redis: () => redis.status === 'ready', database: () => lt.ready(), ...leader.checks },
  });
  await serve(http);

  await amqp.start();
  await redis.ping();
  // The standby reads nothing (staging, databases, the work left in Redis) until it leads: then the state is the last leader's.
  if (!(await leader.acquire())) return;
  try {
    await lt.init();
  } catch (err) {
    // A database without a column the source reads: a configuration problem (exit 78), named.
    if (err instanceof SchemaMismatchError) throw new ConfigError([{ key: `${source.database.urlEnv} (${err.database})`, problem: err.message }]);
    throw err;
  }
  lt.start();
  lifecycle.onShutdown('source', () => lt.stop(config.SHUTDOWN_DRAIN_MS));
  logger.info({ site: site.name, blobRoot: source.blobRoot, stagingRoot: source.stagingRoot, experiments: source.experiments ?? 'all' }, 'lemnatec-source started');
});
