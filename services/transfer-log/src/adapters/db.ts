import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { TransientError, UpstreamUnavailableError, type Logger } from '@terra-transfer/platform';

export type Pool = pg.Pool;

/** Migrations ship beside dist/ and src/ (both are two levels below the service root). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** node-pg-migrate's bookkeeping table. */
const MIGRATIONS_TABLE = 'pgmigrations';

export interface PoolOptions {
  url: string;
  max: number;
  /** Bound on any one statement, so a stuck query cannot hold a batch (and its deliveries) forever. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * Sessions that run only named statements whose generic plan is as good as a custom one (the path
   * lookup): planned once per connection instead of per call. Planning the events lookup over every
   * day partition (93 with the default retention) costs several times its execution; the planner's
   * own choice keeps custom plans for `= ANY($1)`, so these sessions force generic ones.
   */
  genericPlans?: boolean;
  /**
   * Sessions whose statements read a few rows (the path lookup): never parallel. Its generic plan over the
   * day partitions is a Parallel Append under a Gather Merge; launching the two workers cost 30–80 ms a
   * call on the loaded bench machine, for 0.2–5 ms of work run serially (docs/performance.md).
   */
  serialPlans?: boolean;
  /** Names the connections in pg_stat_activity. */
  name?: string;
}

export function createPool(o: PoolOptions, logger: Logger): Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max,
    statement_timeout: o.statementTimeoutMs,
    connectionTimeoutMillis: o.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: o.name ?? 'transfer-log',
    // Every statement here is a short lookup or a batch write. On a log of millions of events the planner's
    // estimates pass jit_above_cost and a 1 ms lineage lookup spent ~900 ms compiling (bench-transfer-log).
    options: `-c jit=off${o.genericPlans ? ' -c plan_cache_mode=force_generic_plan' : ''}${o.serialPlans ? ' -c max_parallel_workers_per_gather=0' : ''}`,
  });
  // An idle client whose server went away: the pool drops it; the next query reports the outage.
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection lost'));
  return pool;
}

/** SQLSTATE classes that say this statement's data is wrong, not that the server is unavailable. */
const DATA_CLASSES = ['22', '23', '42'];

/** Whether PostgreSQL refused the data itself (a value it cannot store): retrying the same batch would fail again. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && DATA_CLASSES.includes(code.slice(0, 2));
}

/** Answers whether PostgreSQL takes a query now (readiness, the consumer's outage probe). */
export async function ping(pool: Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns a failed write into the consumer's retry decision without reading
 * error text: when PostgreSQL does not answer a ping either, it is an outage
 * (the consumer pauses and gives its deliveries back uncounted until a probe
 * passes); otherwise a transient failure of this batch (requeued, counted).
 */
export async function writeFailure(pool: Pool, err: unknown): Promise<Error> {
  const message = err instanceof Error ? err.message : String(err);
  if (!(await ping(pool))) return new UpstreamUnavailableError('postgres', 'POSTGRES_UNAVAILABLE', `PostgreSQL is unreachable: ${message}`, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  // The SQLSTATE is data (upstreamCode), not the code: a code per SQLSTATE would be an open-ended label set.
  return new TransientError('PG_WRITE_FAILED', message, { cause: err, ...(typeof code === 'string' ? { upstreamCode: code } : {}) });
}

/**
 * Runs the migrations (up: all pending; down: `count` back) under
 * node-pg-migrate's advisory lock, waiting for another replica that holds it.
 */
export async function migrate(url: string, logger: Logger, direction: 'up' | 'down' = 'up', count?: number): Promise<string[]> {
  const log = logger.child({ component: 'migrate' });
  // Our own client, not a URL: node-pg-migrate does not wait for the connection it opens to close
  // (its close() calls client.end() without awaiting it), so a server-side termination just after
  // (a database dropped WITH (FORCE), an administrator's pg_terminate_backend) reached a client
  // with no 'error' listener and took the process down. This one is listened to and awaited.
  const client = new pg.Client({ connectionString: url });
  client.on('error', (err) => log.warn({ err }, 'migration connection error'));
  await client.connect();
  let ran: Awaited<ReturnType<typeof runner>>;
  try {
    ran = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction,
      ...(count !== undefined ? { count } : {}),
      advisoryLockMode: 'wait',
      singleTransaction: true,
      logger: { debug: (m: string) => log.debug(m), info: (m: string) => log.debug(m), warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) },
    });
  } finally {
    await client.end().catch(() => undefined);
  }
  const names = ran.map((m) => m.name);
  if (names.length) log.info({ direction, migrations: names }, 'migrations ran');
  return names;
}

/** Creates the database of `url` when it does not exist (the local stack and `make db`; production creates its own). */
export async function createDatabaseIfMissing(url: string): Promise<boolean> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`database name must be a plain identifier, got "${name}"`);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } catch (err) {
      // Another process created it in between.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}
