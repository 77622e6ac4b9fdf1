import { bootService, loadConfig, runMain } from '@terra-transfer/platform';
import { buildCleaner } from './app.js';
import { checkSettings, cleanerSettings, cleanerSite } from './config.js';
import { loadSites, selectSites } from '@terra-transfer/sites';

runMain('cleaner', async () => {
  const env = loadConfig(cleanerSettings, process.env, checkSettings);
  const { logger, registry, lifecycle, redis, amqp, prepared: config, serve } = await bootService({
    service: 'cleaner', config: env, requiredFile: { key: 'SITES_FILE', path: env.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(env.SITES_FILE);
      // Any policy: a `never` site's cleaner records arrivals and failures and takes manual submissions, and deletes nothing.
      const [site] = selectSites(siteFile, [env.SITE], () => true, 'a site');
      return Object.freeze({ ...env, ...cleanerSite(site!), sites: siteFile.names() });
    },
    redis: true, amqp: (c) => ({ sites: c.sites }),
  });

  const cleaner = await buildCleaner({ config, amqp, redis, logger, registry });

  // Readiness before consumption: broker and Redis answer first.
  await amqp.start();
  await redis.ping();
  await serve(cleaner.http);
  lifecycle.onShutdown('cleaner', () => cleaner.stop());
  await cleaner.start();
  logger.info({ port: config.HTTP_PORT, site: config.SITE, cacheRoot: config.CACHE_ROOT, whitelist: config.WHITELIST }, 'cleaner started');
  if (config.DELETION_POLICY === 'never') logger.info({ site: config.SITE }, 'deletion policy never: arrivals are recorded in the ledger, nothing is deleted');
  // As in the original, an empty whitelist admits nothing: the sweep would walk nothing.
  if (config.WHITELIST.length === 0) logger.warn({ site: config.SITE }, 'the whitelist is empty: sweeps find nothing');
});
