import { globusClientFromConfig } from '@terra-transfer/globus';
import { AmqpClient, Lifecycle, closeRedis, createLogger, createRedis, createRegistry, loadConfig, runMain, waitForFile } from '@terra-transfer/platform';
import { loadSites } from '@terra-transfer/sites';
import { buildWatcherApp } from './app.js';
import { spec } from './config.js';

runMain('watcher', async () => {
  const config = loadConfig(spec);
  // Nothing here is site-specific, but every service declares every site's queues (so a publish for a site never finds its queue missing).
  // A site file not there yet (a ConfigMap or volume mounted late): wait, probes answering, instead of exiting.
  await waitForFile(config.SITES_FILE, { key: 'SITES_FILE', host: config.HTTP_HOST, port: config.HTTP_PORT, onWait: (m) => process.stderr.write(`watcher: ${m}\n`) });
  const sites = loadSites(config.SITES_FILE).names();
  const logger = createLogger({ service: 'watcher', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();

  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'watcher', logger });
  // One request budget per Globus identity, shared through Redis with the batchers and watchers of that identity.
  const globus = globusClientFromConfig(config, logger, registry, { redis, prefix: config.REDIS_PREFIX });
  const amqp = new AmqpClient({ url: config.AMQP_URL, prefix: config.AMQP_PREFIX, side: config.AMQP_SIDE, deliveryLimit: config.AMQP_DELIVERY_LIMIT, connectionName: 'watcher', logger, registry, sites });
  const { watcher, http, startConsuming } = await buildWatcherApp({
    options: {
      pollMinMs: config.POLL_MIN_MS, pollMaxMs: config.POLL_MAX_MS, stuckAfterMs: config.STUCK_AFTER_MS,
      maxAttempts: config.MAX_ATTEMPTS, completionConcurrency: config.COMPLETION_CONCURRENCY,
    },
    redisPrefix: config.REDIS_PREFIX,
    amqp,
    redis,
    globus,
    logger,
    registry,
    apiToken: config.API_TOKEN,
  });
  // Run in reverse on shutdown: HTTP, poll loop, consumer drain, Redis. A completion cut short stays `completing` and is redone at the next start.
  lifecycle.onShutdown('redis', () => closeRedis(redis));
  lifecycle.onShutdown('amqp', () => amqp.close(config.SHUTDOWN_DRAIN_MS));
  lifecycle.onShutdown('watcher', () => watcher.close());
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  lifecycle.onShutdown('http', () => http.close());

  await amqp.start();
  startConsuming();
  logger.info({ port: config.HTTP_PORT }, 'watcher running');
});
