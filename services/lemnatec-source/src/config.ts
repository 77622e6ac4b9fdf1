import { env, platformSettings } from '@terra-transfer/platform';

/** Every setting of the lemnatec source, declared once. The site's facts (database URL variable, blob root, staging root, experiments, column mapping) are in the site file. */
export const settings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8088, min: 0, max: 65535 }),
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITE: env.string('The lemnatec site of the site file this process serves', { pattern: /^[a-z][a-z0-9-]{0,31}$/ }),
  POLL_MS: env.int('Interval between two polls of every experiment database', { default: 1000, min: 10 }),
  DATABASES_REFRESH_MS: env.int('How often the list of experiment databases (LTSystem.ltdbs) is read again, so a database added while running is taken', { default: 30_000, min: 100 }),
  OVERLAP_SECONDS: env.int('Overlap window: completed snapshots this much older than the newest seen are looked at again (a commit that became visible late); must exceed the longest commit delay', { default: 600, min: 0 }),
  POLL_LIMIT: env.int('New snapshot rows read per poll and database at most', { default: 500, min: 1, max: 100_000 }),
  MAX_SNAPSHOTS_IN_FLIGHT: env.int('Snapshots exported and published at once', { default: 8, min: 1, max: 256 }),
  IMAGES_IN_FLIGHT: env.int('Images of one snapshot exported at once', { default: 4, min: 1, max: 64 }),
  STAGING_MAX_BYTES: env.int('Bytes the staging area may hold; past this no new snapshot is exported until the pipeline has taken files away (back-pressure)', { default: 4 * 1024 ** 3, min: 1024 }),
  BLOB_ATTEMPTS: env.int('Reads of a missing blob (it may still be being written) before the image is given up as file.failed', { default: 5, min: 1, max: 100 }),
  BLOB_RETRY_MS: env.int('Wait between two reads of a missing blob', { default: 2000, min: 1 }),
  PNG_COMPRESSION: env.int('zlib level of the PNGs (0-9): 3 costs about what 1 does with zlib-ng and makes files about half the size; 6 costs 1.5x for 25% less (decision 0011)', { default: 3, min: 0, max: 9 }),
  CLEAN_INTERVAL_MS: env.int('How often staged files that arrived at the destination (the ledger says transferred) are removed', { default: 2000, min: 10 }),
  PG_POOL_SIZE: env.int('Connections per experiment database', { default: 3, min: 1, max: 50 }),
  PG_STATEMENT_TIMEOUT_MS: env.int('Statement timeout of every query on the instrument database', { default: 30_000, min: 100 }),
  PUBLISH_WINDOW: env.int('Publishes awaiting their broker confirm at once', { default: 64, min: 1, max: 10_000 }),
  LEADER_LOCK: env.bool('Poll, export, publish and clean the staging area only while holding the site’s leader lease in Redis (REDIS_URL, REDIS_PREFIX): a second lemnatec-source of the site stands by instead of exporting every snapshot twice into the same staging folder, and takes over (from the state in Redis) when the first dies. Off: one lemnatec-source per site, and nothing guards against a second (decision 0026)', { default: true }),
  LEADER_LEASE_MS: env.int('The leader lease lapses this long after its holder stopped renewing it: a standby takes over within it (and a leader killed with kill -9 and restarted in place waits for it)', { default: 15_000, min: 1_000 }),
} as const;
