import { env, optional, platformSettings, type ConfigOf } from '@terra-transfer/platform';

/** Every setting of the transfer log, declared once. */
export const transferLogSettings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs, the log API)', { default: 8086, min: 0, max: 65535 }),
  SITES_FILE: env.path('The site file (YAML, docs/sites.md): the log binds every site\'s events'),
  DATABASE_URL: env.url('PostgreSQL (13+) holding the log (credentials are never logged)', { default: 'postgres://postgres@127.0.0.1:5432/terra_transfer_log', protocols: ['postgres', 'postgresql'], secret: true }),
  READ_TOKEN: optional(env.string('Bearer token the read endpoints (/api/v1/*) require; absent leaves them open', { secret: true })),
  DATABASE_CREATE: env.bool('Create the database of DATABASE_URL at start when it does not exist (the local stack; production creates its own)', { default: false }),
  MIGRATE_ON_START: env.bool('Run pending schema migrations at start (under an advisory lock: one replica migrates, the others wait)', { default: true }),
  OUTAGE_HOLD_MS: env.int('PostgreSQL down: how long a delivery waits (unacked) before it is given back uncounted; keep it well under the broker consumer_timeout', { default: 20_000, min: 100, max: 600_000 }),
  BATCH_SIZE: env.int('Events written per transaction at most (acked together after the commit)', { default: 200, min: 1, max: 10_000 }),
  BATCH_MAX_WAIT_MS: env.int('How long a partial batch waits for more events before it is written', { default: 200, min: 1, max: 60_000 }),
  PREFETCH: env.int('Unacked deliveries held at once; at least BATCH_SIZE so a batch can fill while the previous one commits', { default: 2000, min: 1, max: 65_535 }),
  PG_POOL_SIZE: env.int('PostgreSQL connections for reads (API, status page); the writer thread has two connections of its own, partition maintenance one', { default: 6, min: 1, max: 100 }),
  PG_LINEAGE_POOL_SIZE: env.int('PostgreSQL connections for path lookups (lineage), beside the read pool; their sessions keep generic plans and never start parallel workers', { default: 2, min: 1, max: 100 }),
  PG_STATEMENT_TIMEOUT_MS: env.int('Longest any one statement may run before PostgreSQL cancels it', { default: 30_000, min: 100 }),
  PG_CONNECT_TIMEOUT_MS: env.int('How long opening a PostgreSQL connection may take before it counts as unreachable', { default: 5_000, min: 100 }),
  RETENTION_DAYS: env.int('Raw events are kept this many days (whole day partitions dropped); per-file timelines, failures and volumes are kept', { default: 90, min: 1, max: 3650 }),
  PARTITIONS_AHEAD_DAYS: env.int('Day partitions of the raw log created ahead of time', { default: 3, min: 1, max: 60 }),
  MAINTENANCE_INTERVAL_MINUTES: env.int('How often partitions are created ahead and expired ones dropped', { default: 60, min: 1 }),
  SITE_AMQP_URL: optional(env.url("Two brokers (AMQP_SIDE=datacentre): the site broker's URL, or its cluster nodes' separated by commas; the status then reads the site's dead-letter queues there too, on a read-only connection (passive declares only). Credentials are never logged", { protocols: ['amqp', 'amqps'], secret: true, multiple: true })),
  BEHIND_AFTER_SECONDS: env.int('The status endpoint says the log is behind when its newest applied event is older than this while events wait, or PostgreSQL is unreachable', { default: 300, min: 1 }),
} as const;

export type TransferLogConfig = ConfigOf<typeof transferLogSettings>;
