import { bootService, ConfigError, loadConfig, runMain } from '@terra-transfer/platform';
import { loadSites } from '@terra-transfer/sites';
import { createDatabaseIfMissing, createPool, migrate } from './adapters/db.js';
import { buildTransferLog } from './app.js';
import { transferLogSettings } from './config.js';

runMain('transfer-log', async () => {
  const config = loadConfig(transferLogSettings);
  // The site's broker is the other side only when this one is the data centre's (decision 0028).
  if (config.SITE_AMQP_URL !== undefined && config.AMQP_SIDE !== 'datacentre') throw new ConfigError([{ key: 'SITE_AMQP_URL', problem: `is for two brokers: set only with AMQP_SIDE=datacentre (it is ${config.AMQP_SIDE})` }]);
  // Before anything starts: a bad site file exits 78 here.
  const { logger, registry, lifecycle, amqp, serve } = await bootService({
    service: 'transfer-log', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE }, prepare: () => loadSites(config.SITES_FILE).names(),
    // The log's queue binds every site's site-routed events (one key per site, see topology.ts).
    amqp: (sites) => ({ sites }),
  });

  // Schema first: nothing is consumed into tables that are not there yet (an advisory lock serialises replicas).
  if (config.DATABASE_CREATE && (await createDatabaseIfMissing(config.DATABASE_URL))) logger.info('database created');
  if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL, logger);
  const pg = { url: config.DATABASE_URL, statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS, connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS };
  const pool = createPool({ ...pg, max: config.PG_POOL_SIZE }, logger);
  // Partition maintenance on a connection of its own: lookups never queue it. (The writer thread opens its own pool.)
  const writePool = createPool({ ...pg, max: 1 }, logger);
  // Path lookups (the API, the status page's search, `terra file`) on sessions that plan them once, without parallel workers.
  const lineagePool = createPool({ ...pg, max: config.PG_LINEAGE_POOL_SIZE, genericPlans: true, serialPlans: true, name: 'transfer-log-lineage' }, logger);
  // Closed after the broker's drain (in-flight deliveries may still write).
  lifecycle.onShutdown('postgres', () => Promise.all([pool.end(), writePool.end(), lineagePool.end()]).then(() => undefined), { runsAfter: 'amqp' });
  const log = await buildTransferLog({ config, amqp, pool, writePool, lineagePool, logger, registry });
  // Readiness before consumption: broker and PostgreSQL answer first.
  await amqp.start();
  await pool.query('SELECT 1');
  await serve(log.http);
  lifecycle.onShutdown('transfer-log', () => log.stop());
  await log.start();
  logger.info({ port: config.HTTP_PORT, retentionDays: config.RETENTION_DAYS, batchSize: config.BATCH_SIZE }, 'transfer-log started');
});
