import { globusSettings } from '@terra-transfer/globus';
import { env, optional, platformSettings, type ConfigOf } from '@terra-transfer/platform';

/** Every setting of the batcher, declared once. */
export const spec = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8082, min: 0, max: 65535 }),
  // The sites' facts (cache root, Globus source, destinations with their bundling limits, path rules) are in the site file (docs/sites.md).
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) every service reads'),
  SITES: env.list('Sites of the site file this batcher serves, comma-separated; absent: every site', { default: [] }),
  MAX_CONCURRENT_SUBMITS: env.int('Batches being submitted at once, per site and destination', { default: 2, min: 1, max: 50 }),
  MAX_PENDING_TASKS: env.int('Stop consuming while the Globus identity has this many unfinished tasks (Globus caps it at 100)', { default: 90, min: 1, max: 1000 }),
  MAX_WAITING_BATCHES: env.int('Stop consuming while more stored batches than this wait for submission (a Globus outage holds batches in Redis, not deliveries)', { default: 20, min: 1, max: 10_000 }),
  TASK_DEADLINE_HOURS: env.number('Deadline set on each task', { default: 24, min: 0.0003 }),
  SKIP_SOURCE_ERRORS: env.bool('Let a task finish when a source file vanished (the watcher resends or fails those files) instead of faulting until its deadline', { default: true }),
  ...globusSettings,
  WATCHER_URL: optional(env.url('Base URL of a watcher at another site, told about each task by HTTP; absent: task.submitted on the broker only', { protocols: ['http', 'https'] })),
  WATCHER_TOKEN: optional(env.string('Bearer token for the watcher at another site (required with WATCHER_URL)', { secret: true })),
  API_TOKEN: optional(env.string('Bearer token for this service’s write endpoints; absent: they answer 503 (disabled)', { secret: true })),
} as const;

/** Checks across settings, at start (exit 78): a watcher URL needs its token. */
export function checkSpec(c: ConfigOf<typeof spec>): Array<{ key: string; problem: string }> {
  return c.WATCHER_URL !== undefined && c.WATCHER_TOKEN === undefined ? [{ key: 'WATCHER_TOKEN', problem: 'is required when WATCHER_URL is set' }] : [];
}

/** Test hook (not a setting): the crash tests make the batcher kill -9 itself at this point of its first batch. */
export const CRASH_POINTS = ['none', 'after-manifest', 'after-submit'] as const;
