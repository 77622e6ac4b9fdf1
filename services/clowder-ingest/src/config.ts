import { env, notAbove, optional, platformSettings } from '@terra-transfer/platform';

export interface SiteSettings {
  /** Root of the site's tree on the HPC file system (file.transferred `destinationPath` is under it). */
  destinationRoot: string;
  /** The same tree as Clowder sees it (its `filesystem.sourcepaths` must cover it): TERRA's `mounted_paths` rewrite. */
  clowderRoot: string;
  /** Where this worker reads the tree (metadata.json files), when the Globus destination path is not the local path; default destinationRoot. */
  localRoot?: string;
  /** Clowder space every collection and dataset of the site goes in (found or created by name, when no id). */
  space: string;
  /** The space's id (the site file's `clowder.space.id`): used as is, never looked up or created. */
  spaceId?: string;
  /** Dataset names never registered (the original skipped its "LemnaTec - MovingSensor" pseudo-dataset). */
  skipDatasets?: string[];
  /** Path fragments never registered (the original skipped anything under "@Recycle"). */
  skipPathContains?: string[];
  /**
   * false: a `*metadata.json` is attached as its dataset's metadata only, not registered as a file
   * (the site file's `clowder.metadataAsFile`, false there by default, as TERRA did). Absent: registered.
   */
  metadataAsFile?: boolean;
  /** A dataset's `metadata.json` is attached before any other file of it is registered (the site file's `clowder.metadataFirst`). */
  metadataFirst?: boolean;
  /**
   * `experiment`: a dataset goes in its experiment's collection, named by its metadata.json (the site file's
   * `clowder.collections`, the default of lemnatec sites). Absent: TERRA's sensor → year → month → day chain.
   */
  collections?: 'experiment';
  /** Per sensor (and `scanalyzer` for the gantry), the Clowder dataset holding its fixed metadata (the site file's `clowder.fixedMetadata`). */
  fixedMetadata?: Readonly<Record<string, string>>;
}


/** Every setting of clowder-ingest; nothing else reads process.env. */
export const configSpec = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8085, min: 0, max: 65535 }),
  CLOWDER_URL: env.url('Clowder base URL, without /api', { protocols: ['http', 'https'] }),
  CLOWDER_KEY: env.string('Clowder key; must be the commKey or an admin key, so listFiles shows `filepath` (the duplicate check)', { secret: true }),
  CLOWDER_SUPERADMIN: env.bool('Send superAdmin=true: an admin user key then writes into collections and datasets created by others (not needed with the commKey)', { default: false }),
  CLOWDER_TIMEOUT_MS: env.int('Timeout of one Clowder request', { default: 30_000, min: 100 }),
  CLOWDER_RETRIES: env.int('Automatic retries of idempotent Clowder requests on 5xx/connection errors', { default: 6, min: 0, max: 20 }),
  CLOWDER_RETRY_BASE_MS: env.int('First retry delay (doubles each time, with jitter)', { default: 100, min: 1 }),
  CLOWDER_MAX_SOCKETS: env.int('Keep-alive sockets to Clowder', { default: 32, min: 1 }),
  CLOWDER_EXTRACT: env.bool('Let Clowder notify its extractors on registration (extract=true, as TERRA did); false for pure registration', { default: true }),
  CLOWDER_AGENT_USER_ID: env.string('Clowder user id named as the agent of dataset metadata (the commKey user is 000000000000000000000000)', {
    default: '000000000000000000000000',
    pattern: /^[0-9a-f]{24}$/,
  }),
  INGEST_FIXED_METADATA_TTL_MS: env.int('How long a sensor\'s fixed metadata (read from Clowder, site file clowder.fixedMetadata) is kept in memory', { default: 600_000, min: 0 }),
  BETYDB_URL: optional(env.url('BETYdb base URL (e.g. https://terraref.ncsa.illinois.edu/bety): experiments and sites of gantry metadata are looked up there; absent: left out and counted', { protocols: ['http', 'https'] })),
  BETYDB_KEY: optional(env.string('BETYdb API key (sent as the key query parameter, as terrautils did); required with BETYDB_URL', { secret: true })),
  BETYDB_TIMEOUT_MS: env.int('Timeout of one BETYdb request', { default: 10_000, min: 100 }),
  CLOWDER_METADATA_VOCAB: env.url('@vocab of the metadata JSON-LD context', { default: 'https://terraref.ncsa.illinois.edu/metadata/uamac#' }),
  // The sites' Clowder targets (space, collection root, destination, dataset naming) are in the site file (docs/sites.md).
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITES: env.list('Sites of the site file whose files this worker registers, comma-separated; absent: every site', { default: [] }),
  INGEST_PREFETCH: env.int('file.transferred deliveries in flight per worker: each a chunk of up to 1,000 files (decision 0053)', { default: 2, min: 1, max: 5000 }),
  INGEST_CHUNK_CONCURRENCY: env.int('Files of one chunk registered at once (enough to fill per-dataset batches)', { default: 250, min: 1, max: 1000 }),
  INGEST_BATCH_WINDOW_MS: env.int('How long files of one dataset are gathered into one uploadToDataset request', { default: 100, min: 0 }),
  INGEST_BATCH_MAX_FILES: env.int('Most files in one uploadToDataset request', { default: 200, min: 1 }),
  INGEST_LOCK_TTL_MS: env.int('Expiry of a creation lock (a crashed holder frees it after this)', { default: 30_000, min: 1000 }),
  INGEST_LOCK_WAIT_MS: env.int('How long a worker waits for a lock before the delivery is retried later', { default: 60_000, min: 100 }),
  INGEST_UPSTREAM_PROBE_MIN_MS: env.int('First wait between probes of an unavailable Clowder (at start, or while consuming is held for an outage); doubles each time', { default: 1_000, min: 10 }),
  INGEST_UPSTREAM_PROBE_MAX_MS: env.int('Longest wait between probes of an unavailable Clowder', { default: 30_000, min: 10 }),
  INGEST_OUTAGE_HOLD_MS: env.int('During a Clowder outage, how long a delivery waits (unacked) before it is given back uncounted; keep it well under the broker consumer_timeout', { default: 20_000, min: 100, max: 600_000 }),
  INGEST_ATTEMPTS: env.int('Attempts of a check-then-create step before the delivery is requeued', { default: 5, min: 1, max: 50 }),
} as const;

/** Checks across settings, at start (exit 78). */
const probeCheck = notAbove('INGEST_UPSTREAM_PROBE_MIN_MS', 'INGEST_UPSTREAM_PROBE_MAX_MS');
export const checkSpec = (c: Parameters<typeof probeCheck>[0]) => [
  ...probeCheck(c),
  // BETYdb is used only with both its URL and its key (a key alone is a leftover, a URL alone would be refused).
  ...(c['BETYDB_URL'] !== undefined && c['BETYDB_KEY'] === undefined ? [{ key: 'BETYDB_KEY', problem: 'required when BETYDB_URL is set' }] : []),
  ...(c['BETYDB_URL'] === undefined && c['BETYDB_KEY'] !== undefined ? [{ key: 'BETYDB_URL', problem: 'required when BETYDB_KEY is set' }] : []),
];
