import { env, platformSettings } from '@terra-transfer/platform';

/** Every setting of the log-tailer, declared once. */
export const settings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8081, min: 0, max: 65535 }),
  // The site's facts (xferlog, cache root, FTP roots, whitelist) are in the site file (docs/sites.md), not here.
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITE: env.string('The xferlog site of the site file this process tails (one per process: one log, one cursor)', { pattern: /^[a-z][a-z0-9-]{0,31}$/ }),
  STATE_DIR: env.path('Directory of the durable cursor (local disk, next to the log)', { default: '/var/lib/terra-transfer/log-tailer' }),
  START_AT: env.enum(['beginning', 'end'] as const, 'Where to start in the current log when no cursor exists yet', { default: 'beginning' }),
  POLL_INTERVAL_MS: env.int('Poll interval: the fallback when no file-system notification arrives', { default: 250, min: 10 }),
  ROTATE_WAIT_MS: env.int('How long a rotated log is still drained after its last growth (longer than the longest FTP session)', { default: 15 * 60_000, min: 0 }),
  MAX_LINE_BYTES: env.int('Longer lines are counted, logged and skipped', { default: 16 * 1024, min: 256 }),
  READ_CHUNK_BYTES: env.int('Bytes read from the log at a time', { default: 256 * 1024, min: 4096 }),
  PUBLISH_WINDOW: env.int('Publishes awaiting their broker confirm at once', { default: 1000, min: 1, max: 100_000 }),
  SENT_VERSIONS_MEMORY: env.int('Versions (path, size, mtime) sent lately that are remembered, to tell apart files whose names log alike (a b.bin, a_b.bin)', { default: 50_000, min: 0 }),
  CHECKPOINT_INTERVAL_MS: env.int('Most time between two cursor checkpoints while lines are settling', { default: 500, min: 10 }),
  LEADER_LOCK: env.bool('Tail only while holding the site’s leader lease in Redis (REDIS_URL, REDIS_PREFIX): a second log-tailer of the site stands by instead of sending every upload twice. It needs the same STATE_DIR (same host or a shared volume) to go on where the first stopped. Off: one log-tailer per site, restarted in place (a kill -9 then costs no lease wait)', { default: false }),
  LEADER_LEASE_MS: env.int('The leader lease lapses this long after its holder stopped renewing it: a standby takes over within it', { default: 15_000, min: 1_000 }),
  CHECKPOINT_EVERY_LINES: env.int('Checkpoint sooner once this many lines settled since the last one', { default: 20_000, min: 1 }),
} as const;
