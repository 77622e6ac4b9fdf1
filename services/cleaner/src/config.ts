import { env, notAbove, optional, platformSettings, type ConfigOf } from '@terra-transfer/platform';
import type { Site } from '@terra-transfer/sites';

/** Every setting of the cleaner, declared once. */
export const cleanerSettings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs, sweep API)', { default: 8084, min: 0, max: 65535 }),
  // The site's facts (cache root, whitelist, deletion policy and sweep age/schedule) are in the site file (docs/sites.md).
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITE: env.string('The site this cleaner serves (one per process: its queues, its cache, its ledger of failed files, its sweep)', { pattern: /^[a-z][a-z0-9-]{0,31}$/ }),
  API_TOKEN: optional(env.string('Bearer token for POST /api/v1/files, POST /api/v1/sweeps and POST /api/v1/files/failed/resend; absent disables the write endpoints', { secret: true })),
  // 200: deliveries of one upload directory then share their directory walk and Redis round trips (0.41 → 0.31 ms of CPU per file in bench-e2e against 50).
  PREFETCH: env.int('Unacked file.failed deliveries handled at once', { default: 200, min: 1, max: 1000 }),
  TRANSFER_PREFETCH: env.int('Unacked file.transferred deliveries handled at once: each a chunk of up to 1,000 files, 32 of them at once (decision 0053)', { default: 4, min: 1, max: 100 }),
  DELETE_PARENT_DEPTH: env.int('How many levels of parent directories, emptied by a deletion, are removed (never the cache root or a whitelisted root)', { default: 2, min: 0, max: 16 }),
  EMPTY_DIR_GRACE_SECONDS: env.int('A parent directory is removed only if it was last modified longer ago than this before the deletion (an uploader may have just created it)', { default: 600, min: 0 }),
  VERIFY_LOCAL_CHECKSUM: env.bool('Recompute the cache file checksum and compare it with the one Globus verified before deleting (doubles disk reads)', { default: false }),
  CHANGED_SETTLE_SECONDS: env.int('A file changed since upload is sent again only when its mtime is at least this old (younger: an upload may be in progress; the log or the sweep sends it)', { default: 900, min: 0 }),
  DELETED_TTL_HOURS: env.int('How long a ledger record stays after its file was deleted', { default: 720, min: 1 }),
  SWEEP_CHUNK: env.int('Files per ledger lookup (one Redis pipeline) in the sweep', { default: 1000, min: 1, max: 100_000 }),
  SWEEP_PUBLISH_WINDOW: env.int('Sweep publishes awaiting a broker confirm at once', { default: 500, min: 1, max: 10_000 }),
  SWEEP_LOCK_TTL_MS: env.int('TTL of the cross-replica sweep lock (refreshed while the sweep runs)', { default: 30_000, min: 1000 }),
  FAILED_RESEND_BACKOFF_SECONDS: env.int('A file given up (file.failed) is sent again this long after its first give-up; the delay doubles with each give-up of the same version', { default: 3600, min: 1 }),
  FAILED_RESEND_BACKOFF_MAX_SECONDS: env.int('Longest delay before a failed file is sent again; also how often a failed file that is missing from the cache is looked at again', { default: 86_400, min: 1 }),
  FAILED_RESEND_CHECK_SECONDS: env.int('How often due resends of failed files are looked for (and the failed-files gauge refreshed)', { default: 60, min: 1 }),
  FAILED_RESEND_BATCH: env.int('Due failed files taken per Redis call in a resend pass', { default: 200, min: 1, max: 10_000 }),
  STATFS_INTERVAL_SECONDS: env.int('How often the cache file system usage gauges are refreshed', { default: 30, min: 1 }),
  LEDGER_CENSUS_INTERVAL_SECONDS: env.int("How often the site's ledger records are counted by state (terra_transfer_ledger_files; one SCAN of the ledger each time)", { default: 300, min: 1 }),
} as const;

/** Checks across settings, at start (exit 78). */
export const checkSettings = notAbove('FAILED_RESEND_BACKOFF_SECONDS', 'FAILED_RESEND_BACKOFF_MAX_SECONDS');

/** What the cleaner takes from its site in the site file. */
export interface CleanerSite {
  SITE: string;
  CACHE_ROOT: string;
  /** never: the cleaner records arrivals (ledger transferred) and deletes nothing. */
  DELETION_POLICY: Site['deletion']['policy'];
  WHITELIST: readonly string[];
  SWEEP_MIN_AGE_MINUTES: number;
  SWEEP_INTERVAL_MINUTES: number;
  SWEEP_DAILY_AT: string | null;
}

export type CleanerConfig = Omit<ConfigOf<typeof cleanerSettings>, 'SITE' | 'SITES_FILE'> & CleanerSite;

/** The cleaner's view of its site (the loader already checked it). A `never` site has no scheduled sweep. */
export function cleanerSite(site: Site): CleanerSite {
  const root = site.source.kind === 'xferlog' ? site.source.cacheRoot : site.source.kind === 'directory' ? site.source.root : site.source.stagingRoot;
  const sweep = site.deletion.policy === 'delete-after-verified-transfer' ? site.deletion.sweep : { minAgeMinutes: 2880, intervalMinutes: 0 };
  return {
    SITE: site.name, CACHE_ROOT: root.replace(/(.)\/+$/, '$1'), WHITELIST: site.whitelist, DELETION_POLICY: site.deletion.policy,
    SWEEP_MIN_AGE_MINUTES: sweep.minAgeMinutes, SWEEP_INTERVAL_MINUTES: sweep.intervalMinutes, SWEEP_DAILY_AT: sweep.dailyAt ?? null,
  };
}
