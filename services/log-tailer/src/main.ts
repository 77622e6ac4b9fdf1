// First: heap settings before the service allocates (see v8-heap.ts).
import './v8-heap.js';
import { join } from 'node:path';
import { ConfigError, bootService, loadConfig, runMain, siteLeader } from '@terra-transfer/platform';
import { loadSites, selectSites, type Site } from '@terra-transfer/sites';
import { Tailer } from './app.js';
import { settings } from './config.js';
import { DEFAULT_ROTATED_SUFFIX, rotatedSuffixRegex } from './core/rotation.js';

type XferlogSite = Extract<Site['source'], { kind: 'xferlog' }>;
import { isValidTimeZone } from './core/xferlog.js';
import { CursorStore } from './adapters/cursor-store.js';
import { Resolver } from './adapters/resolver.js';
import { buildLogTailerHttp } from './http.js';

runMain('log-tailer', async () => {
  const config = loadConfig(settings);
  const { logger, registry, lifecycle, redis, amqp, prepared: { site, rotatedSuffix }, serve } = await bootService({
    service: 'log-tailer', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(config.SITES_FILE);
      const site = selectSites(siteFile, [config.SITE], (s) => s.source.kind === 'xferlog', 'an xferlog site')[0]!;
      const source = site.source as XferlogSite;
      if (!isValidTimeZone(source.timezone)) throw new ConfigError([{ key: `site ${site.name}`, problem: `source.timezone: unknown time zone ${source.timezone}` }]);
      return { site, all: siteFile.names(), rotatedSuffix: rotatedSuffixRegex(source.rotatedSuffix ?? DEFAULT_ROTATED_SUFFIX) };
    },
    // Redis only for the leader lease.
    redis: config.LEADER_LOCK, amqp: (p) => ({ sites: p.all }),
  });
  const source = site.source as XferlogSite;
  if (site.whitelist.length === 0) logger.warn({ site: site.name }, 'the whitelist is empty: no upload will be published');

  const tailer = new Tailer({
    site: site.name,
    timeZone: source.timezone,
    whitelist: site.whitelist,
    follower: {
      logPath: source.xferlog,
      rotatedSuffix,
      pollIntervalMs: config.POLL_INTERVAL_MS,
      rotateWaitMs: config.ROTATE_WAIT_MS,
      maxLineBytes: config.MAX_LINE_BYTES,
      readChunkBytes: config.READ_CHUNK_BYTES,
      startAtEnd: config.START_AT === 'end',
    },
    publishWindow: config.PUBLISH_WINDOW,
    sentVersionsMemory: config.SENT_VERSIONS_MEMORY,
    checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
    checkpointEveryLines: config.CHECKPOINT_EVERY_LINES,
    amqp,
    rejectsQueue: amqp.topology.queue('tailerRejects'),
    resolver: new Resolver(source.cacheRoot, { ftpRoot: source.ftpRoot, userRoots: source.ftpUserRoots }),
    store: new CursorStore(join(config.STATE_DIR, `${source.xferlog.replace(/[^A-Za-z0-9._-]+/g, '_')}.cursor.json`)),
    logger,
    registry,
  });

  // Two tailers of one log would send every upload twice: only the holder of the site's lease tails.
  const leader = siteLeader({ enabled: config.LEADER_LOCK, service: 'log-tailer', site: site.name, prefix: config.REDIS_PREFIX, ttlMs: config.LEADER_LEASE_MS, redis, logger, lifecycle, registry });

  let started = false;
  const http = await buildLogTailerHttp({
    logger,
    registry,
    checks: { broker: () => amqp.isConnected(), tailing: () => started, ...leader.checks },
  });
  await serve(http);

  // Readiness before intake: read nothing until the broker answers.
  await amqp.start();
  if (!(await leader.acquire())) return;
  await tailer.start();
  lifecycle.onShutdown('tailer', () => tailer.stop(config.SHUTDOWN_DRAIN_MS));
  started = true;
  logger.info({ site: site.name, log: source.xferlog, cacheRoot: source.cacheRoot, whitelist: site.whitelist }, 'log-tailer started');
});
