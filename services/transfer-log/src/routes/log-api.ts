import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { errorBody, type HttpApp } from '@terra-transfer/platform';
import { ping, type Pool } from '../adapters/db.js';
import * as q from '../adapters/queries.js';
import { decodeCursor, isStorableText, toCsv, utcDay } from '../core/report.js';
import { STATES } from '../core/timeline.js';

export interface LogStatus {
  /** Newest event applied, when the last batch committed, events waiting for their batch, whether the consumer waits for PostgreSQL. */
  progress(): { newestEvent: Date | undefined; lastCommit: Date | undefined; waiting: number; waitingForPostgres: boolean };
  behindAfterSeconds: number;
  /** Depths of the topology's dead-letter queues, each with the broker it was read on (null: no broker reachable). */
  deadLetters(): Promise<Array<{ key: string; site?: string; queue: string; broker: 'both' | 'site' | 'datacentre'; messages: number | null }> | null>;
}

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Nullable(Type.String({ format: 'date-time' }));
const Text = Nullable(Type.String());
const Num = Nullable(Type.Number());
const SiteParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Site slug' });
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day, YYYY-MM-DD' });
const Limit = (max: number, def: number) => Type.Integer({ minimum: 1, maximum: max, default: def });

const Event = Type.Object({
  id: Type.String(),
  time: Type.String({ format: 'date-time' }),
  type: Type.String(),
  version: Num,
  status: Type.String({ description: 'valid, or why it was stored raw' }),
  uploadId: Text,
  taskId: Text,
  data: Type.Unknown({ description: "The event's data (null for task.submitted)" }),
});
const versionProps = {
  site: Type.String(), uploadId: Type.String(), path: Text, sensor: Text, size: Num, mtimeMs: Num, ftpTime: Time, source: Text, attempts: Num,
  firstSeen: Time, uploadedAt: Time, batchId: Text, taskId: Text, submittedAt: Time, checksum: Text, checksumAlgorithm: Text, destinationPath: Text,
  transferredAt: Time, deletedAt: Time, bytesFreed: Num, clowderFileId: Text, clowderDatasetId: Text, ingestedAt: Time, failedAt: Time,
  failureReason: Text, failures: Type.Integer(), state: Type.String(), stateAt: Time,
};
const Version = Type.Object(versionProps, { description: "One version of a file (one upload) and its timeline" });
const VersionWithEvents = Type.Object({ ...versionProps, events: Type.Array(Event) });
const Failure = Type.Object({
  eventId: Type.String(), site: Type.String(), uploadId: Type.String(), path: Type.String(), sensor: Type.String(), size: Type.Number(),
  reason: Type.String(), detail: Type.String(), attempts: Type.Integer(), lastTaskId: Text, failedAt: Type.String({ format: 'date-time' }),
});
const Volume = Type.Object({ site: Type.String(), sensor: Type.String(), period: Type.String({ description: 'YYYY-MM-DD or ISO week YYYY-Www' }), start: Type.String(), files: Type.Number(), bytes: Type.Number() });
const ReportRow = Type.Object({ site: Type.String(), sensor: Type.String(), files: Type.Number(), bytes: Type.Number(), failures: Type.Number() });
const Report = Type.Object({ date: Type.String(), rows: Type.Array(ReportRow), totals: Type.Object({ files: Type.Number(), bytes: Type.Number(), failures: Type.Number() }) });
const FlowCount = Type.Object({ files: Type.Number(), bytes: Type.Number() });
const Status = Type.Object({
  postgres: Type.Boolean({ description: 'PostgreSQL answers' }),
  behind: Type.Boolean({ description: 'The log is not keeping up: PostgreSQL unreachable, or events wait while the newest applied one is older than BEHIND_AFTER_SECONDS' }),
  lagSeconds: Num,
  newestEventAt: Time,
  lastCommitAt: Time,
  waiting: Type.Integer({ description: 'Events received, not yet committed' }),
  sites: Type.Array(Type.Object({
    site: Type.String(), today: FlowCount, week: FlowCount, backlog: Type.Number(),
    backlogByState: Type.Record(Type.String(), Type.Number(), { description: 'The backlog by state (uploaded, submitted, failed): versions not yet at the destination' }),
    oldestUntransferredSince: Time, failures24h: Type.Number(),
    tasksInFlight: Type.Integer({ description: 'Globus tasks with files submitted and no outcome logged yet' }),
  })),
  globusTasks: Type.Array(Type.Object({ taskId: Type.String(), site: Type.String(), files: Type.Number(), bytes: Type.Number(), submittedAt: Time }), {
    description: 'Globus tasks in flight (from the log: versions submitted, not yet transferred or given up), oldest first, at most 50',
  }),
  deadLetters: Nullable(Type.Array(Type.Object({
    key: Type.String({ description: 'The consumer queue whose dead letters these are (topology key)' }),
    site: Type.Optional(Type.String({ description: 'The site of a per-site queue' })),
    queue: Type.String({ description: "The dead-letter queue's name" }),
    broker: Type.Union([Type.Literal('both'), Type.Literal('site'), Type.Literal('datacentre')], {
      description: "The broker the queue lives on and was read on: both (one broker holds every queue), or with two brokers the data centre's (the service's own) or the site's (SITE_AMQP_URL)",
    }),
    messages: Nullable(Type.Number({ description: 'Messages waiting; null when its broker did not answer' })),
  }), {
    description: "Messages in each dead-letter queue of the topology (AMQP checkQueue, passive): the service's own broker's queues, and with two brokers and SITE_AMQP_URL the site broker's; null while no broker answers",
  })),
});

const bad = (reply: FastifyReply, message: string) => reply.code(400).send(errorBody('BAD_REQUEST', message));

/** A calendar day that exists (2026-02-30 matches the pattern but is not one). */
function realDay(s: string): boolean {
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(t) && utcDay(new Date(t)) === s;
}

/**
 * The log's read API. Every route validates its query (TypeBox, 400 on
 * anything else) and answers 503 when PostgreSQL is unreachable, never an
 * error page; with READ_TOKEN set, every route needs it. Path lookups run on
 * `lineagePool` (sessions with generic plans, see createPool), the rest on `pool`.
 */
export function logRoutes(app: HttpApp, pool: Pool, status: LogStatus, readToken: boolean, lineagePool: Pool = pool): void {
  // The query parser leaves a percent-escape that is not UTF-8 (%FF, a cut sequence, an encoded surrogate) as
  // literal text: a lookup would quietly answer about another path. Refused here, before validation.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/v1/')) return;
    const qs = req.url.indexOf('?');
    if (qs < 0) return;
    try {
      for (const part of req.url.slice(qs + 1).split('&')) decodeURIComponent(part.replaceAll('+', ' '));
    } catch {
      return reply.code(400).send(errorBody('BAD_REQUEST', 'the query string is not valid percent-encoded UTF-8'));
    }
  });
  const guard = readToken ? { onRequest: app.requireToken } : {};
  const errors = { 400: { $ref: 'ErrorBody#' }, 503: { $ref: 'ErrorBody#' }, ...(readToken ? { 401: { $ref: 'ErrorBody#' } } : {}) };

  /** Runs a query; PostgreSQL unreachable → 503 (other failures stay 500s, logged by the platform). */
  async function db<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> {
    try {
      return await fn();
    } catch (err) {
      if (!(await ping(pool))) return reply.code(503).send(errorBody('POSTGRES_UNAVAILABLE', 'the transfer log database is unreachable'));
      throw err;
    }
  }

  app.get('/api/v1/files', {
    ...guard,
    schema: {
      operationId: 'getFiles', tags: ['files'],
      summary: "A file's lineage by path (every version, its timeline and events), or versions under a path prefix (paginated)",
      querystring: Type.Object({
        path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', description: 'Exact cache path' })),
        prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Path prefix (taken literally: % and _ are not wildcards)' })),
        site: Type.Optional(SiteParam),
        limit: Limit(1000, 100),
        cursor: Type.Optional(Type.String({ maxLength: 8192, description: 'nextCursor of the previous page' })),
      }),
      response: {
        200: Type.Object({
          path: Type.Optional(Type.String()),
          versions: Type.Optional(Type.Array(VersionWithEvents)),
          prefix: Type.Optional(Type.String()),
          items: Type.Optional(Type.Array(Version)),
          nextCursor: Type.Optional(Nullable(Type.String())),
        }),
        ...errors,
      },
    },
  }, async (req, reply) => {
    const { path, prefix, site, limit, cursor } = req.query;
    if ((path === undefined) === (prefix === undefined)) return bad(reply, 'give exactly one of path or prefix');
    const text = (path ?? prefix)!;
    if (!isStorableText(text)) return bad(reply, 'path is not valid text (NUL, invalid UTF-8 or a lone surrogate)');
    if (path !== undefined) return db(reply, async () => ({ path, ...(await q.lineageByPath(lineagePool, path, site)) }));
    let after: { path: string; uploadId: string } | undefined;
    if (cursor !== undefined) {
      after = decodeCursor(cursor);
      if (!after) return bad(reply, 'cursor is not one this API gave');
    }
    return db(reply, async () => ({ prefix: prefix!, ...(await q.listByPrefix(pool, prefix!, limit, after)) }));
  });

  app.get('/api/v1/volumes', {
    ...guard,
    schema: {
      operationId: 'getVolumes', tags: ['volumes'],
      summary: 'Files and bytes that arrived at the destination, per site and sensor, per UTC day or ISO week',
      querystring: Type.Object({
        site: Type.Optional(SiteParam),
        sensor: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        by: Type.Union([Type.Literal('day'), Type.Literal('week')], { default: 'week' }),
        from: Type.Optional(Day),
        to: Type.Optional(Day),
      }),
      response: { 200: Type.Object({ by: Type.String(), from: Type.String(), to: Type.String(), volumes: Type.Array(Volume) }), ...errors },
    },
  }, async (req, reply) => {
    const to = req.query.to ?? utcDay(new Date());
    const from = req.query.from ?? utcDay(new Date(Date.parse(`${to}T00:00:00Z`) - 55 * 86_400_000));
    if (!realDay(from) || !realDay(to)) return bad(reply, 'from and to must be real days (YYYY-MM-DD)');
    if (from > to) return bad(reply, 'from is after to');
    if (req.query.sensor !== undefined && !isStorableText(req.query.sensor)) return bad(reply, 'sensor is not valid text');
    return db(reply, async () => ({ by: req.query.by, from, to, volumes: await q.volumes(pool, { site: req.query.site, sensor: req.query.sensor, by: req.query.by, from, to }) }));
  });

  app.get('/api/v1/failures', {
    ...guard,
    schema: {
      operationId: 'listFailures', tags: ['failures'],
      summary: 'Files given up (file.failed), newest first, with reason and attempts',
      querystring: Type.Object({ site: Type.Optional(SiteParam), since: Type.Optional(Type.String({ format: 'date-time' })), limit: Limit(1000, 100) }),
      response: { 200: Type.Object({ failures: Type.Array(Failure) }), ...errors },
    },
  }, async (req, reply) => db(reply, async () => ({ failures: (await q.failures(pool, req.query)) as never[] })));

  app.get('/api/v1/stuck', {
    ...guard,
    schema: {
      operationId: 'listStuckVersions', tags: ['files'],
      summary: 'Versions that have been in a state longer than a threshold (oldest first)',
      querystring: Type.Object({
        state: Type.Union(STATES.map((s) => Type.Literal(s)), { default: 'submitted' }),
        olderThan: Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400, default: 3600, description: 'Seconds in the state' }),
        site: Type.Optional(SiteParam),
        limit: Limit(1000, 100),
      }),
      response: { 200: Type.Object({ state: Type.String(), olderThan: Type.Integer(), files: Type.Array(Version) }), ...errors },
    },
  }, async (req, reply) => {
    const { state, olderThan, site, limit } = req.query;
    return db(reply, async () => ({ state, olderThan, files: await q.stuck(pool, { state, olderThanSeconds: olderThan, site, limit }) }));
  });

  app.get('/api/v1/reports/daily', {
    ...guard,
    schema: {
      operationId: 'getDailyReport', tags: ['reports'],
      summary: 'The daily report: per site and sensor, files and bytes that arrived and give-ups on a UTC day (JSON or CSV)',
      querystring: Type.Object({ date: Type.Optional(Day), format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }) }),
      response: { 200: Type.Union([Report, Type.String()]), ...errors },
    },
  }, async (req, reply) => {
    const date = req.query.date ?? utcDay(new Date(Date.now() - 86_400_000));
    if (!realDay(date)) return bad(reply, 'date must be a real day (YYYY-MM-DD)');
    const report: unknown = await db(reply, () => q.dailyReport(pool, date));
    if (report === reply) return reply;
    const r = report as Awaited<ReturnType<typeof q.dailyReport>>;
    if (req.query.format === 'json') return r;
    const rows = [...r.rows.map((x) => ({ date, ...x })), { date, site: 'total', sensor: '', ...r.totals }];
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="transfer-log-${date}.csv"`)
      .serializer((s: unknown) => s as string)
      .send(toCsv(['date', 'site', 'sensor', 'files', 'bytes', 'failures'], rows));
  });

  app.get('/api/v1/status', {
    ...guard,
    schema: {
      operationId: 'getStatus', tags: ['status'],
      summary: "Per site: today's and this week's arrivals, backlog, oldest untransferred file, recent give-ups; the log's lag and whether PostgreSQL answers",
      response: { 200: Status, ...errors },
    },
  }, async () => {
    const p = status.progress();
    const up = await ping(pool);
    let sites: Array<Awaited<ReturnType<typeof q.siteStatus>>[number] & { tasksInFlight: number }> = [];
    let globusTasks: Awaited<ReturnType<typeof q.tasksInFlight>>['tasks'] = [];
    const deadLetters = status.deadLetters().catch(() => null);
    if (up) {
      const [rows, inFlight] = await Promise.all([q.siteStatus(pool), q.tasksInFlight(pool)]).catch(() => [[], undefined] as const);
      sites = rows.map((r) => ({ ...r, tasksInFlight: inFlight?.perSite.get(r.site) ?? 0 }));
      globusTasks = inFlight?.tasks ?? [];
    }
    const lag = p.newestEvent ? Math.max(0, (Date.now() - p.newestEvent.getTime()) / 1000) : null;
    const behind = !up || p.waitingForPostgres || (p.waiting > 0 && (lag === null || lag > status.behindAfterSeconds));
    return {
      postgres: up,
      behind,
      lagSeconds: lag,
      newestEventAt: p.newestEvent?.toISOString() ?? null,
      lastCommitAt: p.lastCommit?.toISOString() ?? null,
      waiting: p.waiting,
      sites,
      globusTasks,
      deadLetters: await deadLetters,
    };
  });
}
