import { AmqpClient, closeRedis, createLogger, createRedis, createRegistry, Lifecycle, loadConfig, runMain, waitForFile } from '@terra-transfer/platform';
import { buildCleaner } from './app.js';
import { cleanerSettings, cleanerSite, type CleanerConfig } from './config.js';
import { loadSites, selectSites } from '@terra-transfer/sites';

runMain('cleaner', async () => {
  const env = loadConfig(cleanerSettings);
  // A site file not there yet (a ConfigMap or volume mounted late): wait, probes answering, instead of exiting.
  await waitForFile(env.SITES_FILE, { key: 'SITES_FILE', host: env.HTTP_HOST, port: env.HTTP_PORT, onWait: (m) => process.stderr.write(`cleaner: ${m}\n`) });
  const siteFile = loadSites(env.SITES_FILE);
  // Any policy: a `never` site's cleaner records arrivals and failures and takes manual submissions, and deletes nothing.
  const [site] = selectSites(siteFile, [env.SITE], () => true, 'a site');
  const config: CleanerConfig = Object.freeze({ ...env, ...cleanerSite(site!) });
  const logger = createLogger({ service: 'cleaner', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();

  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'cleaner', logger });
  lifecycle.onShutdown('redis', () => closeRedis(redis));
  const amqp = new AmqpClient({
    url: config.AMQP_URL,
    prefix: config.AMQP_PREFIX, side: config.AMQP_SIDE,
    connectionName: 'cleaner',
    logger,
    registry,
    sites: siteFile.names(),
    deliveryLimit: config.AMQP_DELIVERY_LIMIT,
  });
  lifecycle.onShutdown('amqp', () => amqp.close(config.SHUTDOWN_DRAIN_MS));

  const cleaner = await buildCleaner({ config, amqp, redis, logger, registry });
  lifecycle.onShutdown('http', () => cleaner.http.close());
  lifecycle.onShutdown('cleaner', () => cleaner.stop());

  // Readiness before consumption: broker and Redis answer first.
  await amqp.start();
  await redis.ping();
  await cleaner.http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  await cleaner.start();
  logger.info({ port: config.HTTP_PORT, site: config.SITE, cacheRoot: config.CACHE_ROOT, whitelist: config.WHITELIST }, 'cleaner started');
  if (config.DELETION_POLICY === 'never') logger.info({ site: config.SITE }, 'deletion policy never: arrivals are recorded in the ledger, nothing is deleted');
  // As in the original, an empty whitelist admits nothing: the sweep would walk nothing.
  if (config.WHITELIST.length === 0) logger.warn({ site: config.SITE }, 'the whitelist is empty: sweeps find nothing');
});
