import { globusSettings } from '@terra-transfer/globus';
import { env, platformSettings } from '@terra-transfer/platform';
import { validateDestinations, type Destination } from './core/destinations.js';

/** Every setting of the batcher, declared once. */
export const spec = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8082, min: 0, max: 65535 }),
  SITE: env.string('Site slug carried in labels and events', { default: 'ua-mac', pattern: /^[a-z0-9][a-z0-9-]*$/ }),
  CACHE_ROOT: env.path('Local path of the cache root (file.uploaded paths are under it)'),
  SOURCE_ENDPOINT: env.string('Globus collection id of the cache (source)'),
  SOURCE_ROOT: env.path('The cache root as the source collection sees it', { default: '/' }),
  DESTINATIONS: env.json<Destination[]>(
    'JSON array of {name, endpoint, root, include?}: the first destination whose include prefixes match a file gets it (no include = everything)',
    validateDestinations,
  ),
  PATH_RULES: env.enum(['terraref', 'identity'] as const, 'Source → destination path rewrite: the original TERRA-REF rules, or the same relative path', { default: 'terraref' }),
  BATCH_MAX_FILES: env.int('Files per Globus task at most', { default: 500, min: 1, max: 100_000 }),
  BATCH_MAX_BYTES: env.number('Bytes per Globus task at most (a batch is flushed when it reaches this)', { default: 500 * 1024 ** 3, min: 1 }),
  BATCH_MAX_WAIT_MS: env.int('A batch is flushed when its oldest file has waited this long', { default: 10_000, min: 10 }),
  MAX_CONCURRENT_SUBMITS: env.int('Batches being submitted at once', { default: 2, min: 1, max: 50 }),
  MAX_PENDING_TASKS: env.int('Stop consuming while the Globus identity has this many unfinished tasks (Globus caps it at 100)', { default: 90, min: 1, max: 1000 }),
  MAX_WAITING_BATCHES: env.int('Stop consuming while more stored batches than this wait for submission (a Globus outage holds batches in Redis, not deliveries)', { default: 20, min: 1, max: 10_000 }),
  TASK_DEADLINE_HOURS: env.number('Deadline set on each task', { default: 24, min: 0.0003 }),
  SKIP_SOURCE_ERRORS: env.bool('Let a task finish when a source file vanished (the watcher resends or fails those files) instead of faulting until its deadline', { default: true }),
  ...globusSettings,
  WATCHER_URL: env.string('Base URL of a watcher at another site, told about each task by HTTP (empty: task.submitted on the broker only)', { default: '-' }),
  WATCHER_TOKEN: env.string('Bearer token for the watcher at another site', { default: '-', secret: true }),
  API_TOKEN: env.string('Bearer token for this service’s write endpoints', { default: '-', secret: true }),
  CRASH_AT: env.enum(['none', 'after-manifest', 'after-submit'] as const, 'Test only: kill -9 itself at this point of the first batch (crash tests)', { default: 'none' }),
} as const;
