import { globusClientFromConfig } from '@terra-transfer/globus';
import { bootService, loadConfig, runMain } from '@terra-transfer/platform';
import { loadSites } from '@terra-transfer/sites';
import { buildWatcherApp } from './app.js';
import { checkSpec, spec } from './config.js';

runMain('watcher', async () => {
  const config = loadConfig(spec, process.env, checkSpec);
  // Nothing here is site-specific, but every service declares every site's queues (so a publish for a site never finds its queue missing).
  const { logger, registry, lifecycle, redis, amqp, serve } = await bootService({
    service: 'watcher', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE }, prepare: () => loadSites(config.SITES_FILE).names(),
    redis: true, amqp: (sites) => ({ sites }),
  });
  // One request budget per Globus identity, shared through Redis with the batchers and watchers of that identity.
  const globus = globusClientFromConfig(config, logger, registry, { redis, prefix: config.REDIS_PREFIX });
  const { watcher, http, startConsuming } = await buildWatcherApp({
    options: {
      pollMinMs: config.POLL_MIN_MS, pollMaxMs: config.POLL_MAX_MS, stuckAfterMs: config.STUCK_AFTER_MS,
      maxAttempts: config.MAX_ATTEMPTS, completionConcurrency: config.COMPLETION_CONCURRENCY,
      chunk: { files: config.CHUNK_FILES, bytes: config.CHUNK_BYTES },
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
  lifecycle.onShutdown('watcher', () => watcher.close());
  await serve(http);

  await amqp.start();
  startConsuming();
  logger.info({ port: config.HTTP_PORT }, 'watcher running');
});
