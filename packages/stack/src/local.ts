import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringifySites } from '@terra-transfer/sites';
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
  /** Bundling limits of the site's destination (default: 500 files, 2 s) */
  batch?: { maxFiles?: number; maxAgeSeconds?: number };
  /** Adds a directory site (DIRECTORY_SITE, files written into `root/whitelist[i]`, deletion `never`) and its directory-source */
  directory?: { root: string; whitelist: string[]; settleSeconds?: number; poll?: boolean; completionMarkers?: { names: string[]; folder?: 'run' | 'own' } };
  /**
   * The transfer log's PostgreSQL database (created at its start when missing);
   * default transferLogDatabaseUrl(prefix). The transfer log runs when no
   * `ports` are given (the demo), or when `ports` names one for it: stacks that
   * pick their own ports (tests side by side) never collide on its default port.
   */
  transferLogDatabaseUrl?: string;
}

export const SERVICES = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'] as const;
/** Started only when the stack has a directory site (`LocalStackOptions.directory`). */
export const OPTIONAL_SERVICES = ['directory-source'] as const;
export type ServiceName = (typeof SERVICES)[number] | (typeof OPTIONAL_SERVICES)[number];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  'log-tailer': 8081, batcher: 8082, watcher: 8083, cleaner: 8084, 'clowder-ingest': 8085, 'transfer-log': 8086, 'directory-source': 8087, 'globus-sim': 8091, 'clowder-sim': 8092,
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
/** The optional directory site's name. */
export const DIRECTORY_SITE = 'lab-dir';
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
  const sitesFile = writeLocalSitesFile(o, l);
  const common: Record<string, string> = {
    LOG_LEVEL: o.logLevel ?? 'info',
    AMQP_URL: o.amqpUrl ?? 'amqp://guest:guest@127.0.0.1:5672',
    AMQP_PREFIX: o.prefix,
    REDIS_URL: o.redisUrl ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: o.prefix,
    HTTP_HOST: '127.0.0.1',
    SITES_FILE: sitesFile,
    ...(o.deliveryLimit !== undefined ? { AMQP_DELIVERY_LIMIT: String(o.deliveryLimit) } : {}),
  };
  const globus = {
    GLOBUS_AUTH_URL: globusUrl,
    GLOBUS_TRANSFER_URL: `${globusUrl}/v0.10`,
    GLOBUS_CLIENT_ID: LOCAL.globusClientId,
    GLOBUS_CLIENT_SECRET: LOCAL.globusClientSecret,
  };
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
        SITE,
        STATE_DIR: join(l.stateDir, 'log-tailer'),
        ROTATE_WAIT_MS: '10000',
      },
    },
    {
      name: 'batcher', port: port('batcher'),
      env: {
        ...common, ...globus,
        API_TOKEN: LOCAL.apiToken,
      },
    },
    {
      name: 'watcher', port: port('watcher'),
      env: { ...common, ...globus, API_TOKEN: LOCAL.apiToken, POLL_MIN_MS: '1000', POLL_MAX_MS: '5000' },
    },
    {
      name: 'cleaner', port: port('cleaner'),
      env: { ...common, SITE, API_TOKEN: LOCAL.apiToken },
    },
    {
      name: 'clowder-ingest', port: port('clowder-ingest'),
      env: {
        ...common,
        CLOWDER_URL: `http://127.0.0.1:${port('clowder-sim')}`,
        CLOWDER_KEY: CLOWDER_COMM_KEY,
      },
    },
  ];
  if (o.directory) specs.push({ name: 'directory-source', port: port('directory-source'), env: { ...common, SITE: DIRECTORY_SITE } });
  if (o.ports === undefined || o.ports['transfer-log'] !== undefined) {
    specs.push({
      name: 'transfer-log', port: port('transfer-log'),
      env: { ...common, DATABASE_URL: o.transferLogDatabaseUrl ?? transferLogDatabaseUrl(o.prefix), DATABASE_CREATE: 'true' },
    });
  }
  for (const s of specs) Object.assign(s.env, o.env?.[s.name] ?? {});
  return { stack: new Stack(specs, o.logFiles ? join(o.workDir, 'logs') : undefined), layout: l };
}

/**
 * The local stack's site file (<workDir>/sites.yaml): the gantry's one site,
 * every fact a site would set. Services read it through SITES_FILE.
 */
function writeLocalSitesFile(o: LocalStackOptions, l: StackLayout): string {
  mkdirSync(o.workDir, { recursive: true });
  const file = join(o.workDir, 'sites.yaml');
  writeFileSync(file, stringifySites([{
    name: SITE,
    source: { kind: 'xferlog', xferlog: o.xferlogPath ?? join(l.logDir, 'xferlog'), cacheRoot: l.cacheRoot, ftpRoot: o.ftpRoot ?? '/gantry_data' },
    whitelist: [...WHITELIST],
    globus: { sourceEndpoint: LOCAL.sourceEndpoint, sourceRoot: '/' },
    destinations: [{ name: 'hpc', endpoint: LOCAL.destinationEndpoint, root: DEST_SITE_ROOT, batch: { maxFiles: o.batch?.maxFiles ?? 500, maxAgeSeconds: o.batch?.maxAgeSeconds ?? 2 } }],
    clowder: { space: { name: SITE }, collectionRoot: CLOWDER_SITE_ROOT, localRoot: join(l.destRoot, SITE), skipDatasets: [] },
    deletion: { policy: 'delete-after-verified-transfer' },
  }, ...(o.directory ? [{
    name: DIRECTORY_SITE,
    source: { kind: 'directory' as const, root: o.directory.root, settleSeconds: o.directory.settleSeconds ?? 2, poll: o.directory.poll ?? false, ...(o.directory.completionMarkers ? { completionMarkers: { folder: 'run' as const, ...o.directory.completionMarkers } } : {}) },
    whitelist: o.directory.whitelist,
    pathRules: 'identity' as const,
    globus: { sourceEndpoint: LOCAL.sourceEndpoint, sourceRoot: '/' },
    destinations: [{ name: 'hpc', endpoint: LOCAL.destinationEndpoint, root: `/${DIRECTORY_SITE}`, batch: { maxFiles: o.batch?.maxFiles ?? 500, maxAgeSeconds: o.batch?.maxAgeSeconds ?? 2 } }],
    clowder: { space: { name: DIRECTORY_SITE }, collectionRoot: `/home/clowder/sites/${DIRECTORY_SITE}`, localRoot: join(l.destRoot, DIRECTORY_SITE), skipDatasets: [] },
    deletion: { policy: 'never' as const },
  }] : [])]));
  return file;
}
