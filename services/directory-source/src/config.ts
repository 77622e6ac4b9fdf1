import { env, platformSettings } from '@terra-transfer/platform';

/** Every setting of the directory source, declared once. */
export const settings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8087, min: 0, max: 65535 }),
  // The site's facts (root, settle time, markers, polling, whitelist) are in the site file (docs/sites.md), not here.
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITE: env.string('The directory site of the site file this process serves (one per process: one root)', { pattern: /^[a-z][a-z0-9-]{0,31}$/ }),
  WATCH: env.bool('Watch the root (chokidar) for quick hints; false = full scans only. chokidar\'s start-up walk holds state per file (docs/performance.md): turn it off for trees of several 100,000 files', { default: true }),
  FULL_SCAN_INTERVAL_SECONDS: env.int('Seconds between two full scans of the root, the safety net under the watch (events lost on overflow, written before start, unseen on network mounts)', { default: 600, min: 1 }),
  TICK_MS: env.int('How often hints are taken up and settling files looked at again', { default: 1000, min: 10 }),
  MAX_SETTLING: env.int('Files waiting to settle that are tracked at once (the memory bound); more wait for a later look', { default: 100_000, min: 1 }),
  MAX_HINTS: env.int('Watch hints queued at once; past this they are dropped and a full scan is run instead', { default: 10_000, min: 1 }),
  CHUNK: env.int('Files looked up in Redis and decided at a time', { default: 500, min: 1, max: 10_000 }),
  PUBLISH_WINDOW: env.int('Publishes awaiting their broker confirm at once', { default: 256, min: 1, max: 10_000 }),
  LEADER_LOCK: env.bool('Scan and publish only while holding the site’s leader lease in Redis (REDIS_URL, REDIS_PREFIX): a second directory-source of the site stands by instead of sending every file twice, and takes over (from the sent record in Redis) when the first dies. Off: one directory-source per site, and nothing guards against a second (decision 0026)', { default: true }),
  LEADER_LEASE_MS: env.int('The leader lease lapses this long after its holder stopped renewing it: a standby takes over within it (and a leader killed with kill -9 and restarted in place waits for it)', { default: 15_000, min: 1_000 }),
} as const;
