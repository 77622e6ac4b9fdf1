import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { Type } from '@sinclair/typebox';
import { buildHttp, sleep, type HttpApp, type Logger, type Registry } from '@terra-transfer/platform';
import { parseMultipart } from './adapters/multipart.js';
import type { Store } from './adapters/store.js';
import type { User } from './core/model.js';
import { Access } from './api/auth.js';
import { collectionRoutes } from './api/collections.js';
import type { ApiContext } from './api/context.js';
import { datasetRoutes } from './api/datasets.js';
import { EventLog } from './api/events.js';
import { metadataRoutes } from './api/metadata.js';
import { ApiReply, requestLine } from './api/replies.js';
import { simTelemetry } from './telemetry.js';

type FaultPhase = 'before' | 'after' | 'either';

/** Latency and fault injection, changeable at run time through /admin/faults. */
interface Faults {
  latencyMs: number;
  rate: number;
  status: number;
  phase: FaultPhase;
  insertFailureRate: number;
}

export interface SimOptions {
  store: Store;
  logger: Logger;
  registry: Registry;
  users: ReadonlyArray<Omit<User, 'id' | 'admin' | 'fullName'> & { id?: string; fullName?: string; admin?: boolean }>;
  commKey: string;
  privateMode?: boolean;
  sourcePaths: readonly string[];
  mimeTypes?: Record<string, string>;
  publicUrl?: string;
  faults?: Partial<Faults>;
  adminToken: string;
  bodyLimit?: number;
  now?: () => number;
  random?: () => number;
}

export interface SimApp {
  http: HttpApp;
  faults: Faults;
  events: EventLog;
}

/** nginx's answer when Clowder behind it is too slow: an HTML body, not JSON. */
const GATEWAY_BODY = (status: number) =>
  `<html>\r\n<head><title>${status} Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>${status} Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

declare module 'fastify' {
  interface FastifyRequest {
    simFaultAfter?: boolean;
  }
}

/** Builds the simulator (never listens): Clowder's /api routes plus /admin test hooks. */
export async function buildSimApp(opts: SimOptions): Promise<SimApp> {
  const random = opts.random ?? Math.random;
  const telemetry = simTelemetry(opts.logger, opts.registry);
  const users: User[] = opts.users.map((u, i) => ({
    id: u.id ?? `5a0000000000000000${String(i + 1).padStart(6, '0')}`,
    email: u.email,
    fullName: u.fullName ?? u.email,
    admin: u.admin ?? false,
    ...(u.password !== undefined ? { password: u.password } : {}),
    ...(u.key !== undefined ? { key: u.key } : {}),
  }));
  const faults: Faults = { latencyMs: 3, rate: 0, status: 504, phase: 'either', insertFailureRate: 0, ...opts.faults };
  const events = new EventLog();
  const ctx: ApiContext = {
    store: opts.store,
    users,
    access: new Access(opts.privateMode ?? false),
    commKey: opts.commKey,
    sourcePaths: opts.sourcePaths,
    mimeTypes: opts.mimeTypes ?? {},
    publicUrl: (opts.publicUrl ?? 'http://localhost:9000').replace(/\/+$/, ''),
    events,
    now: opts.now ?? Date.now,
    faults,
  };
  const bodyLimit = opts.bodyLimit ?? 20 * 1024 * 1024;

  const http = await buildHttp({
    service: 'clowder-sim',
    description: 'Simulated Clowder 1.x: the routes and quirks clowder-ingest meets (see shared reference clowder-api.md §8).',
    logger: opts.logger,
    registry: opts.registry,
    checks: { store: () => true },
    authToken: opts.adminToken,
    bodyLimit,
  });

  await http.register(async (api: FastifyInstance) => {
    // Play's parsers: JSON only for application/json or text/json; anything else reaches the action unparsed.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string', bodyLimit }, (_req, body, done) => {
      try {
        done(null, { json: JSON.parse(body as string) as unknown });
      } catch {
        done(null, { invalidJson: true });
      }
    });
    api.addContentTypeParser('multipart/form-data', (req, payload, done) => {
      parseMultipart(req.headers, payload, { fileSize: bodyLimit, fieldSize: bodyLimit }).then((parts) => done(null, { multipart: parts }), (err: Error) => done(err));
    });
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, _body, done) => done(null, { other: true }));

    api.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (faults.latencyMs > 0) await sleep(faults.latencyMs);
      if (faults.rate > 0 && random() < faults.rate) {
        const phase = faults.phase === 'either' ? (random() < 0.5 ? 'before' : 'after') : faults.phase;
        if (phase === 'before') {
          telemetry.faultInjected('before', faults.status, req.routeOptions.url ?? 'unmatched');
          return reply.code(faults.status).type('text/html').send(GATEWAY_BODY(faults.status));
        }
        req.simFaultAfter = true;
      }
    });
    api.addHook('onSend', async (req, reply, payload) => {
      if (!req.simFaultAfter) return payload;
      telemetry.faultInjected('after', faults.status, req.routeOptions.url ?? 'unmatched');
      reply.code(faults.status).type('text/html');
      return GATEWAY_BODY(faults.status);
    });

    api.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      if (err instanceof ApiReply) return reply.code(err.status).type(err.contentType).send(err.body);
      if (err.statusCode === 413) return reply.code(413).type('text/plain').send('Request Entity Too Large');
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return reply.code(400).type('application/json').send(JSON.stringify({ status: 'bad request', message: err.message, request: requestLine(req) }));
      }
      telemetry.handlerError(req.routeOptions.url ?? 'unmatched', err);
      return reply.code(500).type('application/json').send(JSON.stringify({ status: 'error', request: requestLine(req), exception: String(err.stack ?? err.message) }));
    });
    api.setNotFoundHandler((req, reply) =>
      reply.code(404).type('application/json').send(JSON.stringify({ status: 'not found', request: `${req.method} ${req.url.split('?')[0]}` })),
    );

    datasetRoutes(api, ctx);
    collectionRoutes(api, ctx);
    metadataRoutes(api, ctx);
  }, { prefix: '/api' });

  await http.register(async (admin) => {
    const hide = { hide: true } as FastifySchema;
    admin.addHook('preHandler', http.requireToken);
    admin.get('/faults', { schema: hide }, async () => faults);
    admin.put(
      '/faults',
      {
        schema: {
          ...hide,
          body: Type.Object(
            {
              latencyMs: Type.Optional(Type.Number({ minimum: 0 })),
              rate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
              status: Type.Optional(Type.Integer({ minimum: 500, maximum: 599 })),
              phase: Type.Optional(Type.Union([Type.Literal('before'), Type.Literal('after'), Type.Literal('either')])),
              insertFailureRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req) => {
        Object.assign(faults, req.body as Partial<Faults>);
        telemetry.faultsChanged(faults);
        return faults;
      },
    );
    admin.get('/summary', { schema: hide }, async () => summarize(opts.store));
    admin.get('/events', { schema: { ...hide, querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }) } }, async (req) => ({
      counts: Object.fromEntries(events.counts),
      latest: events.latest((req.query as { limit?: number }).limit ?? 100),
    }));
  }, { prefix: '/admin' });

  return { http, faults, events };
}

/**
 * Counts and duplicates in the store: what a test (or an operator checking for
 * the original's duplicate collections) asks of the state.
 */
function summarize(store: Store) {
  const dupNames = (m: Map<string, Set<string>>) => [...m].filter(([, ids]) => ids.size > 1).map(([key, ids]) => ({ name: key.split('\u0000')[0]!, count: ids.size }));
  const byPath = new Map<string, number>();
  for (const f of store.files.values()) if (f.filepath !== undefined) byPath.set(f.filepath, (byPath.get(f.filepath) ?? 0) + 1);
  const dupPaths = [...byPath].filter(([, n]) => n > 1);
  const mdPerDataset = new Map<string, number>();
  for (const m of store.metadata.values()) if (m.target.type === 'dataset') mdPerDataset.set(m.target.id, (mdPerDataset.get(m.target.id) ?? 0) + 1);
  const spaceNames = new Map<string, Set<string>>();
  for (const s of store.spaces.values()) (spaceNames.get(s.name) ?? spaceNames.set(s.name, new Set()).get(s.name)!).add(s.id);
  // A duplicate is a second object of the same name in the same place (the original's failure: the same
  // collection made twice under one parent). Two sites' spaces may each hold a collection of the same name
  // (two drone sites' `drone - 2026-06`): those are different collections, not duplicates.
  const inPlace = (name: string, where: readonly string[]) => `${name}\u0000${[...where].sort().join(',')}`;
  const collectionsInPlace = new Map<string, Set<string>>();
  for (const c of store.collections.values()) {
    const key = inPlace(c.name, [...c.parents, ...c.spaces.map((sp) => `space:${sp}`)]);
    (collectionsInPlace.get(key) ?? collectionsInPlace.set(key, new Set()).get(key)!).add(c.id);
  }
  const datasetsInPlace = new Map<string, Set<string>>();
  for (const d of store.datasets.values()) {
    const key = inPlace(d.name, [...d.collections, ...d.spaces.map((sp) => `space:${sp}`)]);
    (datasetsInPlace.get(key) ?? datasetsInPlace.set(key, new Set()).get(key)!).add(d.id);
  }
  return {
    counts: {
      spaces: store.spaces.size,
      collections: store.collections.size,
      datasets: store.datasets.size,
      files: store.files.size,
      metadata: store.metadata.size,
      distinctFilePaths: byPath.size,
      datasetsWithMetadata: mdPerDataset.size,
    },
    duplicates: {
      spaces: dupNames(spaceNames).slice(0, 100),
      collections: dupNames(collectionsInPlace).slice(0, 100),
      datasets: dupNames(datasetsInPlace).slice(0, 100),
      filePaths: dupPaths.slice(0, 100).map(([path, count]) => ({ path, count })),
      datasetMetadata: [...mdPerDataset].filter(([, n]) => n > 1).slice(0, 100).map(([id, count]) => ({ id, count })),
    },
    /** Files per dataset count, to check "files of one dataset" without listing every file. */
    filesInDatasets: [...store.datasets.values()].reduce((n, d) => n + d.files.length, 0),
  };
}
