import { join } from 'node:path';
import pg from 'pg';
import { WHITELIST } from './gantry.js';
import { LOCAL, Stack, layout, type ServiceSpec, type StackLayout } from './stack.js';

export interface LocalStackOptions {
  workDir: string;
  /** AMQP and Redis name prefix */
  prefix: string;
  amqpUrl?: string;
  redisUrl?: string;
  /** Ports by service; default: the documented local ports (8081–8085, 8091–8092) */
  ports?: Partial<Record<ServiceName, number>>;
  /** Extra environment per service (tests, benchmarks) */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  logLevel?: string;
  /** How the gantry's FTP server logs paths: this prefix stands for the cache root */
  ftpRoot?: string;
  /** Keep each service's output in <workDir>/logs/<service>.log */
  logFiles?: boolean;
  /** The FTP server's xferlog, when not <workDir>/ftp-log/xferlog (a real vsftpd's) */
  xferlogPath?: string;
  /** AMQP_DELIVERY_LIMIT of every service (x-delivery-limit of the queues); the services' default when absent */
  deliveryLimit?: number;
  /**
   * The transfer log's PostgreSQL database (created at its start when missing);
   * default transferLogDatabaseUrl(prefix). The transfer log runs when no
   * `ports` are given (the demo), or when `ports` names one for it: stacks that
   * pick their own ports (tests side by side) never collide on its default port.
   */
  transferLogDatabaseUrl?: string;
}

export const SERVICES = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  'log-tailer': 8081, batcher: 8082, watcher: 8083, cleaner: 8084, 'clowder-ingest': 8085, 'transfer-log': 8086, 'globus-sim': 8091, 'clowder-sim': 8092,
};

/** Drops a stack's transfer-log database (tests clean up; the demo starts afresh). */
export async function dropTransferLogDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/** The machine's PostgreSQL (trust auth for the local user postgres), one database per stack prefix. */
export function transferLogDatabaseUrl(prefix: string): string {
  return `postgres://postgres@127.0.0.1:5432/terra_tlog_${prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 48)}`;
}

export const CLOWDER_COMM_KEY = 'local-clowder-commkey';
export const SITE = 'ua-mac';
/** The site's folder on the HPC collection, and as Clowder sees it. */
export const DEST_SITE_ROOT = `/${SITE}`;
export const CLOWDER_SITE_ROOT = `/home/clowder/sites/${SITE}`;

/**
 * The whole pipeline on this machine, with working defaults: the gantry's
 * cache and FTP log, the Globus simulator moving files from the cache to an
 * "HPC" folder, the Clowder simulator, the five services and the transfer log. Nothing needs
 * configuring; every setting below is one a site would set.
 */
export function localStack(o: LocalStackOptions): { stack: Stack; layout: StackLayout } {
  const l = layout(o.workDir);
  const port = (s: ServiceName) => o.ports?.[s] ?? DEFAULT_PORTS[s];
  const globusUrl = `http://127.0.0.1:${port('globus-sim')}`;
  const common: Record<string, string> = {
    LOG_LEVEL: o.logLevel ?? 'info',
    AMQP_URL: o.amqpUrl ?? 'amqp://guest:guest@127.0.0.1:5672',
    AMQP_PREFIX: o.prefix,
    REDIS_URL: o.redisUrl ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: o.prefix,
    HTTP_HOST: '127.0.0.1',
    SITE,
    ...(o.deliveryLimit !== undefined ? { AMQP_DELIVERY_LIMIT: String(o.deliveryLimit) } : {}),
  };
  const globus = {
    GLOBUS_AUTH_URL: globusUrl,
    GLOBUS_TRANSFER_URL: `${globusUrl}/v0.10`,
    GLOBUS_CLIENT_ID: LOCAL.globusClientId,
    GLOBUS_CLIENT_SECRET: LOCAL.globusClientSecret,
  };
  const whitelist = WHITELIST.join(',');
  const specs: Array<ServiceSpec & { name: ServiceName }> = [
    {
      name: 'globus-sim', infra: true, port: port('globus-sim'),
      env: {
        LOG_LEVEL: common['LOG_LEVEL']!, HTTP_HOST: '127.0.0.1',
        GLOBUS_SIM_ENDPOINTS: JSON.stringify({
          [LOCAL.sourceEndpoint]: { root: l.cacheRoot, display_name: 'gantry cache (Maricopa)' },
          [LOCAL.destinationEndpoint]: { root: l.destRoot, display_name: 'HPC file system' },
        }),
        GLOBUS_SIM_CLIENTS: JSON.stringify({ [LOCAL.globusClientId]: { secret: LOCAL.globusClientSecret, identity: LOCAL.globusIdentity, username: 'terra-transfer@clients.auth.globus.org' } }),
        GLOBUS_SIM_STATE_DIR: join(l.stateDir, 'globus-sim'),
        GLOBUS_SIM_ADMIN_TOKEN: LOCAL.simAdminToken,
        GLOBUS_SIM_RETRY_INTERVAL_MS: '1000',
      },
    },
    {
      name: 'clowder-sim', infra: true, port: port('clowder-sim'),
      env: {
        LOG_LEVEL: common['LOG_LEVEL']!, HTTP_HOST: '127.0.0.1',
        CLOWDER_SIM_DATA_DIR: join(l.stateDir, 'clowder-sim'),
        CLOWDER_SIM_COMM_KEY: CLOWDER_COMM_KEY,
        CLOWDER_SIM_SOURCEPATHS: '/home/clowder/sites',
        CLOWDER_SIM_ADMIN_TOKEN: LOCAL.simAdminToken,
      },
    },
    {
      name: 'log-tailer', port: port('log-tailer'),
      env: {
        ...common,
        XFERLOG_PATH: o.xferlogPath ?? join(l.logDir, 'xferlog'),
        CACHE_ROOT: l.cacheRoot,
        FTP_ROOT: o.ftpRoot ?? '/gantry_data',
        WHITELIST: whitelist,
        STATE_DIR: join(l.stateDir, 'log-tailer'),
        ROTATE_WAIT_MS: '10000',
      },
    },
    {
      name: 'batcher', port: port('batcher'),
      env: {
        ...common, ...globus,
        CACHE_ROOT: l.cacheRoot,
        SOURCE_ENDPOINT: LOCAL.sourceEndpoint,
        SOURCE_ROOT: '/',
        DESTINATIONS: JSON.stringify([{ name: 'hpc', endpoint: LOCAL.destinationEndpoint, root: DEST_SITE_ROOT }]),
        BATCH_MAX_WAIT_MS: '2000',
        API_TOKEN: LOCAL.apiToken,
      },
    },
    {
      name: 'watcher', port: port('watcher'),
      env: { ...common, ...globus, API_TOKEN: LOCAL.apiToken, POLL_MIN_MS: '1000', POLL_MAX_MS: '5000' },
    },
    {
      name: 'cleaner', port: port('cleaner'),
      env: { ...common, CACHE_ROOT: l.cacheRoot, WHITELIST: whitelist, API_TOKEN: LOCAL.apiToken },
    },
    {
      name: 'clowder-ingest', port: port('clowder-ingest'),
      env: {
        ...common,
        CLOWDER_URL: `http://127.0.0.1:${port('clowder-sim')}`,
        CLOWDER_KEY: CLOWDER_COMM_KEY,
        INGEST_SITES: JSON.stringify({ [SITE]: { destinationRoot: DEST_SITE_ROOT, clowderRoot: CLOWDER_SITE_ROOT, localRoot: join(l.destRoot, SITE), space: SITE } }),
      },
    },
  ];
  if (o.ports === undefined || o.ports['transfer-log'] !== undefined) {
    specs.push({
      name: 'transfer-log', port: port('transfer-log'),
      env: { ...common, DATABASE_URL: o.transferLogDatabaseUrl ?? transferLogDatabaseUrl(o.prefix), DATABASE_CREATE: 'true' },
    });
  }
  for (const s of specs) Object.assign(s.env, o.env?.[s.name] ?? {});
  return { stack: new Stack(specs, o.logFiles ? join(o.workDir, 'logs') : undefined), layout: l };
}
