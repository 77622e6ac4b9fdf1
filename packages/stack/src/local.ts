import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerSide } from '@terra-transfer/contracts';
import { loadSites, ownedRoot, stringifySites, type Sites } from '@terra-transfer/sites';
import pg from 'pg';
import { WHITELIST } from './gantry.js';
import { LOCAL, Stack, layout, type ServiceSpec, type StackLayout } from './stack.js';

export interface LocalStackOptions {
  workDir: string;
  /** AMQP and Redis name prefix */
  prefix: string;
  amqpUrl?: string;
  redisUrl?: string;
  /**
   * Ports by process name (see `localProcesses`); default: the documented
   * local ports (8081–8087, 8091–8092), and for the further per-site
   * processes of a site file the default port + 100 per site before it
   * (the second site's cleaner 8184, the third's 8284). When given, every
   * process needs its port.
   */
  ports?: Partial<Record<string, number>>;
  /** Extra environment per process name (tests, benchmarks) */
  env?: Partial<Record<string, Record<string, string>>>;
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
  /**
   * A site file to run instead of the gantry's one site (the demo's, see
   * `demoSites`): the stack starts one cleaner per site, one log-tailer per
   * xferlog site and one directory-source per directory site, and the Globus
   * simulator gets each site's source endpoint (its root) and each
   * destination endpoint (the local "HPC" folder). Sites need
   * `globus.sourceRoot: /` and `clowder.localRoot` under the HPC folder.
   */
  sitesFile?: string;
  /**
   * The transfer log's PostgreSQL database (created at its start when missing);
   * default transferLogDatabaseUrl(prefix). The transfer log runs when no
   * `ports` are given (the demo), or when `ports` names one for it: stacks that
   * pick their own ports (tests side by side) never collide on its default port.
   */
  transferLogDatabaseUrl?: string;
  /**
   * Competing instances of the consumers (batcher, watcher, cleaner,
   * clowder-ingest, transfer-log): the first keeps the process name, each
   * further one is `<name>.<k>` on the default port + 1000 × (k − 1).
   * Sources and simulators run once.
   */
  instances?: Partial<Record<ScalableService, number>>;
  /**
   * Two brokers (decision 0028): each process uses its side's broker (`AMQP_SIDE`, `SERVICE_SIDES`)
   * and, when given, its side's Redis, instead of `amqpUrl` / `redisUrl`. The shovels between the
   * two are the caller's (contracts' `shovelParameter`).
   */
  brokers?: Record<BrokerSide, { amqpUrl: string; redisUrl?: string }>;
}

/**
 * Which broker each service uses when the site and the data centre each run their own: the
 * site's services next to the cache, the data centre's next to the HPC file system and Clowder.
 */
export const SERVICE_SIDES: Record<Exclude<ServiceName, 'globus-sim' | 'clowder-sim'>, BrokerSide> = {
  'log-tailer': 'site', 'directory-source': 'site', 'lemnatec-source': 'site', batcher: 'site', cleaner: 'site',
  watcher: 'datacentre', 'clowder-ingest': 'datacentre', 'transfer-log': 'datacentre',
};

export const SERVICES = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'] as const;
/** Started only when the stack's site file has a directory site. */
export const OPTIONAL_SERVICES = ['directory-source', 'lemnatec-source'] as const;
/** Services that run one process per site (`SITE`). */
export const PER_SITE_SERVICES = ['log-tailer', 'directory-source', 'lemnatec-source', 'cleaner'] as const;
export type ServiceName = (typeof SERVICES)[number] | (typeof OPTIONAL_SERVICES)[number];
/** Services that may run as several competing instances (everything but the sources and the simulators). */
export const SCALABLE_SERVICES = ['batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'] as const;
export type ScalableService = (typeof SCALABLE_SERVICES)[number];

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  'log-tailer': 8081, batcher: 8082, watcher: 8083, cleaner: 8084, 'clowder-ingest': 8085, 'transfer-log': 8086, 'directory-source': 8087, 'lemnatec-source': 8088, 'globus-sim': 8091, 'clowder-sim': 8092,
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

/** One process of the local stack: its name (ports, env, `stack.proc()`), the service it runs, and the site it serves. */
export interface LocalProcess {
  name: string;
  service: ServiceName;
  site?: string;
  defaultPort: number;
}

/**
 * The processes a site file asks for: the shared services once, and per site
 * its cleaner, and its log-tailer (xferlog) or directory-source (directory).
 * The first process of a per-site service is named after the service (so the
 * gantry's one-site stack keeps `cleaner`, `log-tailer`), each further one
 * `<service>-<site>`, on the default port + 100 per process before it.
 */
export function localProcesses(sites: Sites, withTransferLog = true, instances: Partial<Record<ScalableService, number>> = {}): LocalProcess[] {
  const out: LocalProcess[] = (['globus-sim', 'clowder-sim', 'batcher', 'watcher', 'clowder-ingest', ...(withTransferLog ? ['transfer-log' as const] : [])] as const)
    .map((service) => ({ name: service, service, defaultPort: DEFAULT_PORTS[service] }));
  const seen = new Map<ServiceName, number>();
  for (const site of sites.sites) {
    const services: ServiceName[] = ['cleaner', ...(site.source.kind === 'xferlog' ? ['log-tailer' as const] : site.source.kind === 'directory' ? ['directory-source' as const] : ['lemnatec-source' as const])];
    for (const service of services) {
      const k = seen.get(service) ?? 0;
      seen.set(service, k + 1);
      out.push({ name: k === 0 ? service : `${service}-${site.name}`, service, site: site.name, defaultPort: DEFAULT_PORTS[service] + 100 * k });
    }
  }
  const copies: LocalProcess[] = [];
  for (const p of out) {
    const n = (SCALABLE_SERVICES as readonly string[]).includes(p.service) ? (instances[p.service as ScalableService] ?? 1) : 1;
    for (let k = 2; k <= n; k++) copies.push({ ...p, name: `${p.name}.${k}`, defaultPort: p.defaultPort + 1000 * (k - 1) });
  }
  return [...out, ...copies];
}

/**
 * The Globus simulator's endpoints for a site file: each site's source
 * endpoint is the folder it owns (cache or instrument root), each destination
 * endpoint the local "HPC" folder. Throws when the file asks for what the
 * simulator cannot stand for here.
 */
export function localEndpoints(sites: Sites, destRoot: string): Record<string, { root: string; display_name: string }> {
  const eps: Record<string, { root: string; display_name: string }> = {};
  const add = (id: string, root: string, display: string) => {
    if (eps[id] && eps[id].root !== root) throw new Error(`Globus endpoint ${id} stands for both ${eps[id].root} and ${root}: give each site its own source endpoint`);
    eps[id] ??= { root, display_name: display };
  };
  for (const s of sites.sites) {
    if (s.globus.sourceRoot !== '/') throw new Error(`site ${s.name}: the local stack maps the source endpoint to the site's folder, so globus.sourceRoot must be /`);
    add(s.globus.sourceEndpoint, ownedRoot(s.source).root, `${s.name} source`);
    for (const d of s.destinations) add(d.endpoint, destRoot, `HPC file system (${s.name} ${d.name})`);
  }
  return eps;
}

/**
 * The whole pipeline on this machine, with working defaults: the gantry's
 * cache and FTP log, the Globus simulator moving files from the cache to an
 * "HPC" folder, the Clowder simulator, the five services and the transfer log. Nothing needs
 * configuring; every setting below is one a site would set. With `sitesFile`,
 * the sites of that file instead, each with its own processes.
 */
export function localStack(o: LocalStackOptions): { stack: Stack; layout: StackLayout; sites: Sites } {
  const l = layout(o.workDir);
  const sitesFile = o.sitesFile ?? writeLocalSitesFile(o, l);
  const sites = loadSites(sitesFile);
  const withTransferLog = o.ports === undefined || o.ports['transfer-log'] !== undefined;
  const procs = localProcesses(sites, withTransferLog, o.instances);
  const portOf = new Map(procs.map((p) => {
    const port = o.ports ? o.ports[p.name] : p.defaultPort;
    if (port === undefined) throw new Error(`no port given for ${p.name} (ports must name every process: localProcesses())`);
    return [p.name, port];
  }));
  const port = (name: string) => portOf.get(name)!;
  const globusUrl = `http://127.0.0.1:${port('globus-sim')}`;
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
  const envOf = (p: LocalProcess): Record<string, string> => {
    switch (p.service) {
      case 'globus-sim': return {
        LOG_LEVEL: common['LOG_LEVEL']!, HTTP_HOST: '127.0.0.1',
        GLOBUS_SIM_ENDPOINTS: JSON.stringify(localEndpoints(sites, l.destRoot)),
        GLOBUS_SIM_CLIENTS: JSON.stringify({ [LOCAL.globusClientId]: { secret: LOCAL.globusClientSecret, identity: LOCAL.globusIdentity, username: 'terra-transfer@clients.auth.globus.org' } }),
        GLOBUS_SIM_STATE_DIR: join(l.stateDir, 'globus-sim'),
        GLOBUS_SIM_ADMIN_TOKEN: LOCAL.simAdminToken,
        GLOBUS_SIM_RETRY_INTERVAL_MS: '1000',
      };
      case 'clowder-sim': return {
        LOG_LEVEL: common['LOG_LEVEL']!, HTTP_HOST: '127.0.0.1',
        CLOWDER_SIM_DATA_DIR: join(l.stateDir, 'clowder-sim'),
        CLOWDER_SIM_COMM_KEY: CLOWDER_COMM_KEY,
        CLOWDER_SIM_SOURCEPATHS: '/home/clowder/sites',
        CLOWDER_SIM_ADMIN_TOKEN: LOCAL.simAdminToken,
      };
      // Each log-tailer keeps its cursor in its own folder.
      case 'log-tailer': return { ...common, SITE: p.site!, STATE_DIR: join(l.stateDir, p.name), ROTATE_WAIT_MS: '10000' };
      case 'batcher': return { ...common, ...globus, API_TOKEN: LOCAL.apiToken };
      case 'watcher': return { ...common, ...globus, API_TOKEN: LOCAL.apiToken, POLL_MIN_MS: '1000', POLL_MAX_MS: '5000' };
      case 'cleaner': return { ...common, SITE: p.site!, API_TOKEN: LOCAL.apiToken };
      // The safety-net scan every 20 s instead of 10 min: the local trees are tiny, and a hint lost on a loaded
      // machine (seen once in make test: a run folder's files never sent within the demo's 60 s progress window)
      // is then caught inside that window, as production's scan catches it within its interval.
      case 'directory-source': return { ...common, SITE: p.site!, FULL_SCAN_INTERVAL_SECONDS: '20' };
      // The instrument database's URL comes with `env` (the site file names its variable, LEMNATEC_DB_URL in the local stack).
      case 'lemnatec-source': return { ...common, SITE: p.site!, POLL_MS: '200', CLEAN_INTERVAL_MS: '1000', BLOB_RETRY_MS: '500' };
      case 'clowder-ingest': return { ...common, CLOWDER_URL: `http://127.0.0.1:${port('clowder-sim')}`, CLOWDER_KEY: CLOWDER_COMM_KEY };
      case 'transfer-log': return { ...common, DATABASE_URL: o.transferLogDatabaseUrl ?? transferLogDatabaseUrl(o.prefix), DATABASE_CREATE: 'true' };
    }
  };
  const brokerEnv = (p: LocalProcess): Record<string, string> => {
    if (!o.brokers || p.service === 'globus-sim' || p.service === 'clowder-sim') return {};
    const side = SERVICE_SIDES[p.service];
    const b = o.brokers[side];
    return { AMQP_URL: b.amqpUrl, AMQP_SIDE: side, ...(b.redisUrl ? { REDIS_URL: b.redisUrl } : {}) };
  };
  const specs: Array<ServiceSpec & { service: ServiceName }> = procs.map((p) => ({
    name: p.name, service: p.service, port: port(p.name), env: { ...envOf(p), ...brokerEnv(p), ...(o.env?.[p.name.replace(/\.\d+$/, '')] ?? {}), ...(o.env?.[p.name] ?? {}) },
    ...(p.service === 'globus-sim' || p.service === 'clowder-sim' ? { infra: true } : {}),
  }));
  return { stack: new Stack(specs, o.logFiles ? join(o.workDir, 'logs') : undefined), layout: l, sites };
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
    // metadata.json registered as a file too (TERRA did not: the default), so every upload is a Clowder file the checks can count.
    clowder: { space: { name: SITE }, collectionRoot: CLOWDER_SITE_ROOT, localRoot: join(l.destRoot, SITE), skipDatasets: [], metadataAsFile: true },
    deletion: { policy: 'delete-after-verified-transfer' },
  }]));
  return file;
}
