import { env, platformSettings } from '@terra-transfer/platform';

export interface EndpointConfig {
  root: string;
  display_name?: string;
  /** A GCSv5 mapped collection: POST /transfer needs the data_access dependent scope in the token, else 403 ConsentRequired. */
  requires_data_access?: boolean;
}

export interface ClientConfig {
  secret: string;
  /** The client identity's uuid: tasks' owner_id. */
  identity: string;
  username?: string;
}

const UUIDISH = /^[0-9a-zA-Z][0-9a-zA-Z-]{2,63}$/;

function checkEndpoints(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'must be an object {"<endpoint id>": {"root": "/abs/dir"}}';
  for (const [id, e] of Object.entries(v as Record<string, unknown>)) {
    if (!UUIDISH.test(id)) return `endpoint id "${id}" is not an id`;
    const root = (e as { root?: unknown } | null)?.root;
    if (typeof root !== 'string' || !root.startsWith('/')) return `endpoint ${id} needs an absolute "root"`;
  }
  return undefined;
}

function checkClients(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'must be an object {"<client id>": {"secret": "...", "identity": "<uuid>"}}';
  for (const [id, c] of Object.entries(v as Record<string, unknown>)) {
    const cc = c as Partial<ClientConfig> | null;
    if (typeof cc?.secret !== 'string' || typeof cc.identity !== 'string') return `client ${id} needs "secret" and "identity"`;
  }
  return undefined;
}

/** Every setting of the simulator, declared once (docs/globus.md lists them). */
export const settings = {
  LOG_LEVEL: platformSettings.LOG_LEVEL,
  HTTP_HOST: env.string('Address the simulator binds', { default: '127.0.0.1' }),
  HTTP_PORT: env.int('Port of the simulator (Auth and Transfer on the same port)', { default: 8091, min: 0, max: 65535 }),
  GLOBUS_SIM_ENDPOINTS: env.json<Record<string, EndpointConfig>>('Endpoints (collections): {"<id>": {"root": "/abs/dir", "display_name": "...", "requires_data_access": false}}', checkEndpoints),
  GLOBUS_SIM_CLIENTS: env.json<Record<string, ClientConfig>>('Confidential clients: {"<client id>": {"secret": "...", "identity": "<uuid>", "username": "..."}}', checkClients, { secret: true }),
  GLOBUS_SIM_TOKEN_LIFETIME_SEC: env.int('expires_in of issued access tokens (Globus: 172800 = 48 h); short values force renewals in tests', { default: 172_800, min: 1 }),
  GLOBUS_SIM_MAX_ACTIVE_PER_OWNER: env.int('Transfer tasks that run at once per owner; the rest wait as nice_status "Queued" (Globus: 3)', { default: 3, min: 1 }),
  GLOBUS_SIM_MAX_PENDING_PER_OWNER: env.int('Unfinished tasks allowed per owner; beyond it POST /transfer answers 409 Conflict (Globus FAQ: 100)', { default: 100, min: 1 }),
  GLOBUS_SIM_DEFAULT_DEADLINE_SEC: env.int('Deadline of a task that gives none (Globus: 24 h)', { default: 86_400, min: 1 }),
  GLOBUS_SIM_RETRY_INTERVAL_MS: env.int('How long a task with faults (missing source file) waits before retrying them', { default: 10_000, min: 10 }),
  GLOBUS_SIM_TICK_MS: env.int('How often deadlines are checked', { default: 1_000, min: 10 }),
  GLOBUS_SIM_BANDWIDTH_BYTES_PER_SEC: env.int('Copy bandwidth shared by all tasks (bytes/s); 0 = as fast as the disk', { default: 0, min: 0 }),
  GLOBUS_SIM_COPY_CONCURRENCY: env.int('Files copied at once per task', { default: 8, min: 1, max: 256 }),
  GLOBUS_SIM_RATE_LIMIT_PER_SEC: env.int('Transfer API requests per second per owner, metered over 10 s windows, beyond which 429 (Globus: 20); 0 = off', { default: 20, min: 0 }),
  GLOBUS_SIM_PAGE_SIZE: env.int('Items per page of successful_transfers / skipped_errors', { default: 1000, min: 1, max: 100_000 }),
  GLOBUS_SIM_COMPACT_EVERY: env.int('Rewrite the journal as a snapshot of the state after this many appended records, while running (0 = only at start)', { default: 100_000, min: 0 }),
  GLOBUS_SIM_STATE_DIR: env.string('Directory of the durable journal (state survives restarts); "memory" keeps state in memory only', { default: 'memory', pattern: /^(memory|\/.*)$/ }),
  GLOBUS_SIM_ADMIN_TOKEN: env.string('Bearer token of /admin/* (fault injection); unset disables the admin API', { default: '', secret: true }),
  GLOBUS_SIM_FAULTS: env.json<unknown[]>('Faults armed at start, same shape as POST /admin/faults bodies, as a JSON array', (v) => (Array.isArray(v) ? undefined : 'must be a JSON array'), { default: [] }),
} as const;
