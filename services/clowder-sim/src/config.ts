import { Type } from '@sinclair/typebox';
import { env, platformSettings } from '@terra-transfer/platform';

/** A local account: basic auth password and/or API key. */
const User = Type.Object({
  id: Type.Optional(Type.String()), email: Type.String(), fullName: Type.Optional(Type.String()), password: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()), admin: Type.Optional(Type.Boolean()),
});

/** Every setting of the simulator; nothing else reads process.env. */
export const configSpec = {
  LOG_LEVEL: platformSettings.LOG_LEVEL,
  HTTP_HOST: platformSettings.HTTP_HOST,
  HTTP_PORT: env.int('Port the simulated Clowder listens on', { default: 8092, min: 0, max: 65535 }),
  CLOWDER_SIM_DATA_DIR: env.path('Folder of the journal (journal.jsonl) and uploaded bytes; the state survives restarts', { default: '/var/tmp/terra-clowder-sim' }),
  CLOWDER_SIM_COMM_KEY: env.string('Clowder commKey: `?key=` with this value is the superadmin anonymous user', { default: 'r1ek3rs', secret: true }),
  CLOWDER_SIM_USERS: env.json(
    Type.Array(User),
    'Local accounts (basic auth password and/or API key): a JSON array of {email, fullName?, password?, key?, admin?, id?}',
    { default: [{ email: 'uploader@terraref.org', fullName: 'TERRA Uploader', password: 'uploader', key: 'uploader-key', admin: false }], secret: true },
  ),
  CLOWDER_SIM_PRIVATE: env.bool('permissions=private: anonymous callers get 401 on reads too', { default: false }),
  CLOWDER_SIM_SOURCEPATHS: env.list('filesystem.sourcepaths: path prefixes that may be registered by path (others are silently skipped)', { default: ['/home/clowder/sites'] }),
  CLOWDER_SIM_MIMETYPES: env.json(Type.Record(Type.String(), Type.String()), 'Extra mimetype.<ext> entries: a JSON object of strings', { default: {} }),
  CLOWDER_SIM_PUBLIC_URL: env.string('Host used in attached_to URLs of metadata', { default: 'http://localhost:9000' }),
  CLOWDER_SIM_LATENCY_MS: env.number('Latency added to every /api request (a realistic lightly loaded Clowder)', { default: 3, min: 0 }),
  CLOWDER_SIM_FAULT_RATE: env.number('Fraction of /api requests answered with CLOWDER_SIM_FAULT_STATUS', { default: 0, min: 0, max: 1 }),
  CLOWDER_SIM_FAULT_STATUS: env.int('Status of injected faults', { default: 504, min: 500, max: 599 }),
  CLOWDER_SIM_FAULT_PHASE: env.enum(['before', 'after', 'either'] as const, 'Injected faults happen before the handler (nothing done), after it (done, reply lost, like a proxy timeout), or either at random', { default: 'either' }),
  CLOWDER_SIM_INSERT_FAILURE_RATE: env.number('Fraction of createempty calls answered 200 {"status":"error"} (a failed Mongo insert)', { default: 0, min: 0, max: 1 }),
  CLOWDER_SIM_ADMIN_TOKEN: env.string('Bearer token of the /admin endpoints (fault injection, state summary)', { default: 'sim-admin', secret: true }),
  CLOWDER_SIM_BODY_LIMIT: env.int('JSON body limit in bytes (parsers.text.maxLength)', { default: 20 * 1024 * 1024, min: 1024 }),
} as const;
