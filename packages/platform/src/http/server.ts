import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { errorBody, isErrorCode } from '../error-codes.js';
import { counter, histogram, type Registry } from '../metrics.js';

export type HttpApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpOptions {
  service: string;
  version?: string;
  description?: string;
  logger: Logger;
  registry: Registry;
  /** Readiness checks: every one must answer true for /readyz to be 200. */
  checks: Record<string, () => boolean | Promise<boolean>>;
  /** Bearer token for write endpoints; without one, write endpoints answer 503. */
  authToken?: string | undefined;
  bodyLimit?: number;
  /** The OpenAPI tags of the service's routes (one per resource), each with a line saying what it is. */
  tags?: readonly OpenApiTag[];
}

export interface OpenApiTag { name: string; description: string }

/** The tag of /healthz, /readyz and /metrics, which every service has. */
export const PROBES_TAG: OpenApiTag = { name: 'probes', description: 'Liveness, readiness and Prometheus metrics, for the orchestrator and the scraper.' };

/** Every error answer: `error` is a catalogued code (packages/platform/src/error-codes.ts, docs/errors.md). */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { $id: 'ErrorBody' });

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Guard for write endpoints (`Authorization: Bearer <token>`). Register it
     * as the route's `onRequest` hook, so a request without the token is
     * refused (401) before its body is parsed or validated.
     */
    requireToken: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

/**
 * Builds (never listens) the HTTP side of a service: OpenAPI at /docs,
 * /healthz, /readyz, /metrics, the bearer-token guard, uniform error bodies.
 * Routes are added by the caller after this resolves.
 */
export async function buildHttp(opts: HttpOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Our onResponse hook logs failed requests and counts all of them; per-request info lines would drown the logs.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 10 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const requests = counter(opts.registry, 'terra_transfer_http_requests_total', 'HTTP requests by route and status code', ['route', 'method', 'status']);
  // Time in the service, from the request's arrival to the reply's end (fastify's elapsedTime): what a
  // client's own timing adds on top of it is the network and the client's event loop.
  const durations = histogram(opts.registry, 'terra_transfer_http_request_duration_seconds', 'HTTP request time in the service, by route', ['route', 'method'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    durations.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 400 && route !== '/readyz') req.log.warn({ route, method: req.method, status: reply.statusCode }, 'request failed');
  });

  app.addSchema(ErrorBody);
  // Registered before the OpenAPI plugin reads the routes: what a route declares follows what it does.
  app.addHook('onRoute', (route) => documentRoute(route as Parameters<typeof documentRoute>[0], app.requireToken));
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: opts.service, version: opts.version ?? '0.1.0', description: opts.description ?? '' },
      // Relative: the document is served by the service it describes, wherever that listens.
      servers: [{ url: '/', description: `this ${opts.service} instance` }],
      tags: [PROBES_TAG, ...(opts.tags ?? [])],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // Components nothing refers to (the bearer scheme of a service without write endpoints) are left out.
    transformObject: (doc) => pruneUnused((doc as { openapiObject: OpenApiDoc }).openapiObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err.validation) return reply.code(400).send(errorBody('BAD_REQUEST', err.message));
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request error');
    // A catalogued code travels as it is; fastify's own (FST_ERR_*) and any other stay in the message or the log, so `error` is a bounded set.
    return reply.code(status).send(errorBody(isErrorCode(err.code) ? err.code : status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', status >= 500 ? 'internal error' : err.message));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  const expected = opts.authToken ? Buffer.from(opts.authToken) : undefined;
  app.decorate('requireToken', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!expected) return reply.code(503).send(errorBody('AUTH_NOT_CONFIGURED', 'no API token is configured; write endpoints are disabled'));
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('UNAUTHORIZED', 'a valid bearer token is required'));
    }
  });

  const probe = (operationId: string, summary: string, description: string) => ({ operationId, summary, description, tags: [PROBES_TAG.name] });
  const ReadyBody = Type.Object({
    ready: Type.Boolean(),
    checks: Type.Record(Type.String(), Type.Boolean(), { description: 'Each readiness check by name: true when it answered' }),
  });
  app.get('/healthz', {
    schema: {
      ...probe('getHealth', 'Liveness', 'Answers 200 while the process serves HTTP; it checks no dependency (that is /readyz).'),
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
  }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', {
    schema: {
      ...probe('getReadiness', 'Readiness', 'Runs every readiness check (broker, Redis, upstream API, ... as the service needs them); 200 when all answer, 503 otherwise.'),
      response: { 200: ReadyBody, 503: ReadyBody },
    },
  }, async (_req, reply) => {
    const results: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(opts.checks)) {
      try {
        results[name] = await check();
      } catch {
        results[name] = false;
      }
    }
    const ready = Object.values(results).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ ready, checks: results });
  });
  app.get('/metrics', {
    schema: {
      ...probe('getMetrics', 'Prometheus metrics', 'Every metric of the service in the Prometheus text exposition format.'),
      produces: ['text/plain'],
      response: { 200: { description: 'Prometheus text exposition format (version 0.0.4)', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  }, async (_req, reply) => reply.header('content-type', opts.registry.contentType).send(await opts.registry.metrics()));
  return app;
}

interface OpenApiDoc { paths?: Record<string, Record<string, unknown>>; components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> } }
type RouteSchema = { hide?: boolean; params?: unknown; querystring?: unknown; body?: unknown; security?: unknown; response?: Record<string, unknown> };

/**
 * Declares in a route's schema what the route does: the bearer token where the guard runs (with
 * its 401, and the 503 of a service started without a token), no security elsewhere, and the 400
 * of the validation of any declared input.
 */
function documentRoute(route: { schema?: RouteSchema; onRequest?: unknown; preHandler?: unknown }, guard: unknown): void {
  const schema: RouteSchema = route.schema ?? (route.schema = {});
  if (schema.hide) return;
  const response = schema.response ?? (schema.response = {});
  const guarded = [route.onRequest, route.preHandler].flat().includes(guard);
  schema.security = guarded ? [{ bearer: [] }] : [];
  if (guarded) {
    response[401] ??= { $ref: 'ErrorBody#', description: 'No bearer token, or not the service\'s' };
    response[503] ??= { $ref: 'ErrorBody#', description: 'The service has no API token configured (AUTH_NOT_CONFIGURED): its guarded endpoints are disabled' };
  }
  if (schema.params || schema.querystring || schema.body) response[400] ??= { $ref: 'ErrorBody#', description: 'The request does not match its schema' };
}

/** Drops components nothing in the document refers to (by JSON reference). */
function pruneUnused(doc: OpenApiDoc): OpenApiDoc {
  const { components, ...rest } = doc;
  const text = JSON.stringify(rest);
  const usesBearer = text.includes('"bearer":[]');
  const schemas = Object.entries(components?.schemas ?? {});
  // A schema can refer to another: keep what is reachable from the paths, then from what is kept.
  const kept = new Set<string>();
  let reach = text;
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, body] of schemas) {
      if (!kept.has(name) && reach.includes(`"#/components/schemas/${name}"`)) {
        kept.add(name);
        reach += JSON.stringify(body);
        grew = true;
      }
    }
  }
  const out: OpenApiDoc['components'] = {};
  if (kept.size) out.schemas = Object.fromEntries(schemas.filter(([name]) => kept.has(name)));
  if (usesBearer && components?.securitySchemes) out.securitySchemes = components.securitySchemes;
  return { ...rest, ...(Object.keys(out).length ? { components: out } : {}) };
}
