import { MAX_CHUNK_FILES } from '@terra-transfer/contracts';
import { globusSettings } from '@terra-transfer/globus';
import { env, notAbove, platformSettings } from '@terra-transfer/platform';

/** Every setting of the watcher, declared once. */
export const spec = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (task API, health, readiness, metrics, API docs)', { default: 8083, min: 0, max: 65535 }),
  API_TOKEN: env.string('Bearer token for POST /api/v1/tasks', { secret: true }),
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads; the watcher declares the per-site queues of its sites'),
  ...globusSettings,
  POLL_MIN_MS: env.int('Shortest interval between two task-list polls (Globus asks for ≥ 1 s)', { default: 2_000, min: 1_000 }),
  POLL_MAX_MS: env.int('Longest interval: the poll backs off to this while nothing changes', { default: 60_000, min: 1_000 }),
  STUCK_AFTER_MS: env.int('A task with faults (FILE_NOT_FOUND, …) or INACTIVE for this long is cancelled and its files sent again', { default: 2 * 3600_000, min: 1_000 }),
  MAX_ATTEMPTS: env.int('Transfers of one file before it is given up (file.failed)', { default: 3, min: 1, max: 100 }),
  CHUNK_FILES: env.int('Most arrived files per file.transferred event: a finished task\'s files go out in chunks of this many (decision 0053)', { default: 500, min: 1, max: MAX_CHUNK_FILES }),
  CHUNK_BYTES: env.int('Most bytes per file.transferred chunk, so the cleaner\'s work per delivery (it may read each file again for its checksum) stays far inside the broker\'s consumer_timeout', { default: 8 * 1024 ** 3, min: 1 }),
  COMPLETION_CONCURRENCY: env.int('Finished tasks whose files are published at once', { default: 2, min: 1, max: 16 }),
} as const;

/** Checks across settings, at start (exit 78). */
export const checkSpec = notAbove('POLL_MIN_MS', 'POLL_MAX_MS');
