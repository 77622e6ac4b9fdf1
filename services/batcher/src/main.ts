import { globusClientFromConfig } from '@terra-transfer/globus';
import { bootService, loadConfig, runMain, testHook } from '@terra-transfer/platform';
import { loadSites, ownedRoot, selectSites, type Site } from '@terra-transfer/sites';
import { buildBatcherApp } from './app.js';
import { CRASH_POINTS, checkSpec, spec } from './config.js';
import type { BatcherSite } from './batcher.js';

/** A site of the site file as the batcher needs it. */
function batcherSite(s: Site): BatcherSite {
  return {
    name: s.name, cacheRoot: ownedRoot(s.source).root, sourceEndpoint: s.globus.sourceEndpoint, sourceRoot: s.globus.sourceRoot, rules: s.pathRules,
    destinations: s.destinations.map((d) => ({
      name: d.name, endpoint: d.endpoint, root: d.root, ...(d.include ? { include: [...d.include] } : {}),
      limits: { maxFiles: d.batch.maxFiles, maxBytes: d.batch.maxBytes, maxWaitMs: Math.round(d.batch.maxAgeSeconds * 1000) },
    })),
  };
}

runMain('batcher', async () => {
  const config = loadConfig(spec, process.env, checkSpec);
  const crashAt = testHook('CRASH_AT', CRASH_POINTS);
  // Every site has a Globus source; a site this batcher does not serve is another batcher's.
  const { logger, registry, lifecycle, redis, amqp, prepared: sites, serve } = await bootService({
    service: 'batcher', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(config.SITES_FILE);
      return { all: siteFile.names(), served: selectSites(siteFile, config.SITES, () => true, 'a site') };
    },
    redis: true, amqp: (sites) => ({ sites: sites.all }),
  });
  // One request budget per Globus identity, shared through Redis with the batchers and watchers of that identity.
  const globus = globusClientFromConfig(config, logger, registry, { redis, prefix: config.REDIS_PREFIX });

  const { batcher, http } = await buildBatcherApp({
    options: {
      sites: sites.served.map(batcherSite), maxConcurrentSubmits: config.MAX_CONCURRENT_SUBMITS, maxPendingTasks: config.MAX_PENDING_TASKS,
      maxWaitingBatches: config.MAX_WAITING_BATCHES,
      deadlineHours: config.TASK_DEADLINE_HOURS, skipSourceErrors: config.SKIP_SOURCE_ERRORS, ...(crashAt ? { crashAt } : {}),
    },
    redisPrefix: config.REDIS_PREFIX,
    amqp,
    redis,
    globus,
    logger,
    registry,
    watcher: config.WATCHER_URL !== undefined && config.WATCHER_TOKEN !== undefined ? { url: config.WATCHER_URL, token: config.WATCHER_TOKEN } : undefined,
    apiToken: config.API_TOKEN,
  });
  // Shutdown runs these in reverse: stop HTTP, drain the consumer (open batches are submitted now), then stop retry loops, then Redis.
  lifecycle.onShutdown('batcher', () => batcher.close(), { runsAfter: 'amqp' });
  await serve(http);

  // Readiness before consumption: broker, Redis and Globus answer; every batch an earlier run left open is handed to the driver.
  await amqp.start();
  await batcher.checkUpstream();
  await batcher.recover();
  batcher.start();
  logger.info({ port: config.HTTP_PORT }, 'batcher consuming');
});
