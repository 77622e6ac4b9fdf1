import { env, platformSettings, Type, optional, type Static } from '@terra-transfer/platform';
import { FAULT_KINDS, SIM_ENDPOINTS } from './core/faults.js';

const Id = Type.String({ pattern: '^[0-9a-zA-Z][0-9a-zA-Z-]{2,63}$' });

const Endpoint = Type.Object({
  root: Type.String({ pattern: '^/', description: 'absolute directory' }),
  display_name: Type.Optional(Type.String()),
  /** A GCSv5 mapped collection: POST /transfer needs the data_access dependent scope in the token, else 403 ConsentRequired. */
  requires_data_access: Type.Optional(Type.Boolean()),
});
export type EndpointConfig = Static<typeof Endpoint>;

const Client = Type.Object({
  secret: Type.String(),
  /** The client identity's uuid: tasks' owner_id. */
  identity: Type.String(),
  username: Type.Optional(Type.String()),
});
export type ClientConfig = Static<typeof Client>;

/** A fault armed at start: the shape of a POST /admin/faults body (core/faults.ts checkFaultRequest); destinationEndpoint only for 502-external. */
const common = {
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  endpoints: Type.Optional(Type.Array(Type.Union(SIM_ENDPOINTS.map((e) => Type.Literal(e))))),
  retryAfter: Type.Optional(Type.Integer({ minimum: 0 })),
  delayMs: Type.Optional(Type.Integer({ minimum: 0 })),
};
const Fault = Type.Union([
  Type.Object({ kind: Type.Literal('502-external'), destinationEndpoint: Type.Optional(Type.String()), ...common }),
  Type.Object({ kind: Type.Union(FAULT_KINDS.filter((k) => k !== '502-external').map((k) => Type.Literal(k))), destinationEndpoint: Type.Optional(Type.Never()), ...common }),
], { description: `a fault {kind, count?, endpoints?, retryAfter?, delayMs?, destinationEndpoint? (502-external only)}, kind one of ${FAULT_KINDS.join(', ')}` });

/** Every setting of the simulator, declared once (docs/globus.md lists them). */
export const settings = {
  LOG_LEVEL: platformSettings.LOG_LEVEL,
  HTTP_HOST: env.string('Address the simulator binds', { default: '127.0.0.1' }),
  HTTP_PORT: env.int('Port of the simulator (Auth and Transfer on the same port)', { default: 8091, min: 0, max: 65535 }),
  GLOBUS_SIM_ENDPOINTS: env.json(Type.Record(Id, Endpoint, { additionalProperties: false }), 'Endpoints (collections): {"<id>": {"root": "/abs/dir", "display_name": "...", "requires_data_access": false}}'),
  GLOBUS_SIM_CLIENTS: env.json(Type.Record(Type.String(), Client), 'Confidential clients: {"<client id>": {"secret": "...", "identity": "<uuid>", "username": "..."}}', { secret: true }),
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
  GLOBUS_SIM_ADMIN_TOKEN: optional(env.string('Bearer token of /admin/* (fault injection); absent disables the admin API', { secret: true })),
  GLOBUS_SIM_FAULTS: env.json(Type.Array(Fault), 'Faults armed at start, same shape as POST /admin/faults bodies, as a JSON array', { default: [] }),
} as const;
