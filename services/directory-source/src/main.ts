import { bootService, loadConfig, runMain, siteLeader } from '@terra-transfer/platform';
import { loadSites, selectSites, type Site } from '@terra-transfer/sites';
import { DirectorySource } from './app.js';
import { settings } from './config.js';
import { SentStore } from './adapters/sent-store.js';
import { buildDirectorySourceHttp } from './http.js';

type DirectorySite = Extract<Site['source'], { kind: 'directory' }>;

runMain('directory-source', async () => {
  const config = loadConfig(settings);
  const { logger, registry, lifecycle, redis, amqp, prepared: { site }, serve } = await bootService({
    service: 'directory-source', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(config.SITES_FILE);
      const [site] = selectSites(siteFile, [config.SITE], (s) => s.source.kind === 'directory', 'a directory site');
      return { site: site!, all: siteFile.names() };
    },
    // Every site's queues are declared, so a publish routed by site always finds its queue.
    redis: true, amqp: (p) => ({ sites: p.all }),
  });
  const source = site.source as DirectorySite;
  if (site.whitelist.length === 0) logger.warn({ site: site.name }, 'the whitelist is empty: no file will be published');

  const dir = new DirectorySource({
    site: site.name,
    root: source.root.replace(/\/+$/, ''),
    settleMs: source.settleSeconds * 1000,
    markers: source.completionMarkers,
    poll: source.poll,
    pollIntervalMs: source.pollIntervalSeconds * 1000,
    whitelist: site.whitelist,
    exclude: site.exclude,
    watch: config.WATCH,
    fullScanIntervalMs: config.FULL_SCAN_INTERVAL_SECONDS * 1000,
    tickMs: config.TICK_MS,
    maxSettling: config.MAX_SETTLING,
    maxHints: config.MAX_HINTS,
    chunk: config.CHUNK,
    publishWindow: config.PUBLISH_WINDOW,
    amqp: amqp,
    sent: new SentStore(redis, config.REDIS_PREFIX, site.name),
    logger,
    registry,
  });

  // Two sources of one folder would send every file twice: only the holder of the site's lease scans and publishes.
  const leader = siteLeader({ enabled: config.LEADER_LOCK, service: 'directory-source', site: site.name, prefix: config.REDIS_PREFIX, ttlMs: config.LEADER_LEASE_MS, redis, logger, lifecycle, registry });

  const http = await buildDirectorySourceHttp({
    logger,
    registry,
    // root: false while the site's folder is missing (logged once, terra_transfer_directory_root_missing = 1).
    checks: { broker: () => amqp.isConnected(), redis: () => redis.status === 'ready', root: () => dir.ready(), ...leader.checks },
  });
  await serve(http);

  // Readiness before intake: look at nothing until the broker and Redis answer.
  await amqp.start();
  await redis.ping();
  if (!(await leader.acquire())) return;
  dir.start();
  // Registered last so it runs first: the source stops publishing before the broker closes.
  lifecycle.onShutdown('source', () => dir.stop(config.SHUTDOWN_DRAIN_MS));
  logger.info({ site: site.name, root: source.root, poll: source.poll, settleSeconds: source.settleSeconds, markers: source.completionMarkers ?? null, whitelist: site.whitelist }, 'directory-source started');
});
