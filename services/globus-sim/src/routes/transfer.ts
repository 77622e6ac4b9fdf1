import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientConfig, EndpointConfig } from '../config.js';
import type { Executor } from '../adapters/executor.js';
import type { Store, TokenInfo } from '../adapters/store.js';
import type { FaultPlan, SimEndpoint } from '../core/faults.js';
import { errors } from '../core/globus-error.js';
import { requestId, uuid } from '../core/ids.js';
import { dataAccessScope } from '../core/scope.js';
import { isTerminal, markerPage, newTaskDoc, type SimTask } from '../core/task-doc.js';
import { parseFields, parseOrderBy, parsePaging, parseTaskFilter, project } from '../core/task-filter.js';
import { validateTransfer } from '../core/validate.js';
import type { Telemetry } from '../telemetry.js';
import { globusErrorHandling, sendGlobusError } from './globus-plugin.js';

export interface TransferDeps {
  endpoints: Record<string, EndpointConfig>;
  clients: Record<string, ClientConfig>;
  store: Store;
  executor: Executor;
  faults: FaultPlan;
  telemetry: Telemetry;
  maxPendingPerOwner: number;
  defaultDeadlineSec: number;
  rateLimitPerSec: number;
  pageSize: number;
  now: () => number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Our name of the Globus call: fault matching and metrics. */
    globus?: SimEndpoint;
  }
}

const RATE_WINDOW_MS = 10_000;
const callers = new WeakMap<FastifyRequest, TokenInfo>();

/** Transfer API v0.10, registered under the /v0.10 prefix. */
export async function transferRoutes(app: FastifyInstance, d: TransferDeps): Promise<void> {
  globusErrorHandling(app);
  app.setNotFoundHandler((req, reply) => sendGlobusError(req, reply, errors.notFound(`No such API resource: ${req.method} ${req.url.split('?')[0]}`)));

  // Injected service faults come first: they imitate the front end failing before any work.
  app.addHook('onRequest', async (req) => {
    const endpoint = req.routeOptions.config.globus;
    if (!endpoint) return;
    const f = d.faults.take(endpoint, ['429', '503', '500', '502-external']);
    if (!f) return;
    d.telemetry.faultFired(f.kind, endpoint);
    if (f.kind === '429') throw errors.rateLimited(f.retryAfter ?? 1);
    if (f.kind === '503') throw errors.serviceUnavailable(f.retryAfter ?? undefined);
    if (f.kind === '500') throw errors.internal();
    throw errors.external();
  });

  const windows = new Map<string, { start: number; count: number }>();
  app.addHook('preHandler', async (req) => {
    const header = req.headers.authorization ?? '';
    const info = header.startsWith('Bearer ') ? d.store.tokens.get(header.slice(7)) : undefined;
    if (!info) throw errors.authFailed();
    if (info.expiresAtMs <= d.now()) throw errors.authFailed('Token is not active (expired)');
    callers.set(req, info);
    if (d.rateLimitPerSec > 0) {
      // Globus meters 20 requests/s per user over 10-second windows.
      const now = d.now();
      let w = windows.get(info.owner);
      if (!w || now - w.start >= RATE_WINDOW_MS) windows.set(info.owner, (w = { start: now, count: 0 }));
      if (++w.count > d.rateLimitPerSec * (RATE_WINDOW_MS / 1000)) {
        d.telemetry.rateLimited(info.owner);
        throw errors.rateLimited(Math.max(1, Math.ceil((w.start + RATE_WINDOW_MS - now) / 1000)));
      }
    }
  });

  const caller = (req: FastifyRequest): TokenInfo => callers.get(req)!;
  const ownTask = (req: FastifyRequest, id: string): SimTask => {
    const t = d.store.tasks.get(id);
    // Another owner's task is as invisible as an unknown one.
    if (!t || t.doc.owner_id !== caller(req).owner) throw errors.taskNotFound(id);
    return t;
  };
  const endpointInfo = (id: string) => ({ id, display_name: d.endpoints[id]?.display_name ?? id });
  /** (source, destination) path pairs of unfinished tasks, for the 409 Conflict check; rebuilt lazily. */
  const pathIndex = new Map<string, Set<string>>();
  const pairsOf = (t: SimTask): Set<string> => {
    let s = pathIndex.get(t.doc.task_id);
    if (!s) {
      s = new Set(t.items.map((i) => `${t.doc.source_endpoint_id}\0${i.source_path}\0${t.doc.destination_endpoint_id}\0${i.destination_path}`));
      pathIndex.set(t.doc.task_id, s);
    }
    return s;
  };

  app.get('/submission_id', { config: { globus: 'submission_id' }, schema: { tags: ['transfer'], summary: 'A new submission id' } }, async () => ({ DATA_TYPE: 'submission_id', value: uuid() }));

  app.post('/transfer', { config: { globus: 'transfer' }, schema: { tags: ['transfer'], summary: 'Submit a transfer task (TransferData document)' } }, async (req, reply) => {
    const who = caller(req);
    const now = d.now();
    const t = validateTransfer(req.body, (id) => id in d.endpoints, now);
    // A fault scoped to a destination endpoint: that endpoint is unreachable, the others are not.
    if (d.faults.take('transfer', ['502-external'], t.destination_endpoint)) {
      d.telemetry.faultFired('502-external', 'transfer');
      throw errors.external();
    }
    const dup = d.store.bySubmission.get(t.submission_id);
    if (dup) {
      d.telemetry.taskDuplicate(dup);
      return reply.code(200).send(transferResult('Duplicate', 'A transfer with this submission_id was already accepted; no new task was created', t.submission_id, dup));
    }
    const consentFault = d.faults.take('transfer', ['consent-required']);
    if (consentFault) d.telemetry.faultFired('consent-required', 'transfer');
    for (const ep of [t.source_endpoint, t.destination_endpoint]) {
      const needed = dataAccessScope(ep);
      const granted = who.scopes.some((s) => s.dependencies.includes(needed));
      if (consentFault || (d.endpoints[ep]?.requires_data_access && !granted)) throw errors.consentRequired(`urn:globus:auth:scope:transfer.api.globus.org:all[*${needed}]`);
    }
    let pending = 0;
    const wanted = new Set(t.items.map((i) => `${t.source_endpoint}\0${i.source_path}\0${t.destination_endpoint}\0${i.destination_path}`));
    for (const id of d.store.unfinished) {
      const other = d.store.tasks.get(id)!;
      if (other.doc.owner_id !== who.owner) continue;
      pending++;
      const pairs = pairsOf(other);
      for (const w of wanted) if (pairs.has(w)) throw errors.conflictPaths();
    }
    if (pending >= d.maxPendingPerOwner) throw errors.conflictPending(d.maxPendingPerOwner);

    const taskId = uuid();
    const deadlineMs = t.deadlineMs ?? now + d.defaultDeadlineSec * 1000;
    const slow = d.faults.take('transfer', ['slow']);
    if (slow) d.telemetry.faultFired('slow', 'transfer');
    const inactive = d.faults.take('transfer', ['inactive']);
    if (inactive) d.telemetry.faultFired('inactive', 'transfer');
    const task: SimTask = {
      doc: newTaskDoc({ taskId, owner: who.owner, username: d.clients[who.clientId]?.username ?? `${who.clientId}@clients.auth.globus.org`, t, src: endpointInfo(t.source_endpoint), dst: endpointInfo(t.destination_endpoint), nowMs: now, deadlineMs }),
      clientId: who.clientId,
      submissionId: t.submission_id,
      items: t.items,
      deadlineMs,
      slowMsPerFile: slow?.delayMs ?? 0,
      ...(inactive ? { inactiveMs: inactive.delayMs } : {}),
      expanded: false,
      startedMs: null,
      events: [],
      successful: [],
      skipped: [],
    };
    await d.store.createTask(task);
    d.telemetry.taskAccepted(taskId, who.owner, t.items.length);
    d.executor.kick();
    if (d.faults.take('transfer', ['drop-after-accept'])) {
      // The task is committed; the client never hears so (a lost response). Its retry must get Duplicate.
      d.telemetry.faultFired('drop-after-accept', 'transfer');
      reply.hijack();
      req.raw.socket.destroy();
      return reply;
    }
    return reply.code(202).send(transferResult('Accepted', 'The transfer has been accepted and a task has been created and queued for execution', t.submission_id, taskId));
  });

  app.get<{ Params: { id: string } }>('/task/:id', { config: { globus: 'task' }, schema: { tags: ['transfer'], summary: 'A task document' } }, async (req) => {
    return ownTask(req, req.params.id).doc;
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/task_list', { config: { globus: 'task_list' }, schema: { tags: ['transfer'], summary: 'Tasks of the caller, filtered' } }, async (req) => {
    const q = req.query;
    const owner = caller(req).owner;
    const pred = parseTaskFilter(q['filter']);
    const fields = parseFields(q['fields']);
    const order = parseOrderBy(q['orderby']);
    const { limit, offset } = parsePaging(q['limit'], q['offset'], 10);
    const matched: SimTask['doc'][] = [];
    for (const t of d.store.tasks.values()) if (t.doc.owner_id === owner && pred(t.doc)) matched.push(t.doc);
    matched.sort(order);
    const DATA = matched.slice(offset, offset + limit).map((doc) => project(doc, fields));
    return { DATA_TYPE: 'task_list', DATA, length: DATA.length, limit, offset, total: matched.length };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>('/task/:id/event_list', { config: { globus: 'event_list' }, schema: { tags: ['transfer'], summary: 'Events of a task, newest first' } }, async (req) => {
    const t = ownTask(req, req.params.id);
    const { limit, offset } = parsePaging(req.query['limit'], req.query['offset'], 10, 1000);
    let events = [...t.events].reverse();
    const f = req.query['filter'];
    if (f) {
      const m = /^is_error:(0|1)$/.exec(f);
      if (!m) throw errors.badRequest(`Invalid filter '${f}'`);
      events = events.filter((e) => e.is_error === (m[1] === '1'));
    }
    const DATA = events.slice(offset, offset + limit);
    return { DATA_TYPE: 'event_list', length: DATA.length, limit, offset, total: events.length, DATA };
  });

  for (const kind of ['successful_transfers', 'skipped_errors'] as const) {
    app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(`/task/:id/${kind}`, { config: { globus: kind }, schema: { tags: ['transfer'], summary: `${kind} of a finished task (marker paging)` } }, async (req) => {
      const t = ownTask(req, req.params.id);
      if (!isTerminal(t.doc)) throw errors.badRequest(`Task '${t.doc.task_id}' is still in progress, ${kind === 'successful_transfers' ? 'successful transfers' : 'skipped errors'} are not yet available`);
      const page = markerPage<unknown>(kind === 'successful_transfers' ? t.successful : t.skipped, req.query['marker'], d.pageSize);
      if (!page) throw errors.badRequest(`Invalid marker '${req.query['marker']}'`);
      return { DATA_TYPE: kind, ...page };
    });
  }

  app.post<{ Params: { id: string } }>('/task/:id/cancel', { config: { globus: 'cancel' }, schema: { tags: ['transfer'], summary: 'Cancel a task' } }, async (req) => {
    const t = ownTask(req, req.params.id);
    const resource = `/task/${t.doc.task_id}/cancel`;
    const canceled = await d.executor.cancel(t);
    pathIndex.delete(t.doc.task_id);
    if (!canceled) return { DATA_TYPE: 'result', code: 'TaskComplete', message: `Task '${t.doc.task_id}' has already completed`, resource, request_id: requestId() };
    return { DATA_TYPE: 'result', code: 'Canceled', message: 'The task has been cancelled successfully.', resource, request_id: requestId() };
  });

  // Drop the conflict index of finished tasks now and then (it is only a cache).
  app.addHook('onResponse', async () => {
    if (pathIndex.size > 2 * d.maxPendingPerOwner) for (const id of pathIndex.keys()) if (!d.store.unfinished.has(id)) pathIndex.delete(id);
  });
}

function transferResult(code: 'Accepted' | 'Duplicate', message: string, submissionId: string, taskId: string) {
  return {
    DATA_TYPE: 'transfer_result',
    code,
    message,
    request_id: requestId(),
    resource: '/v0.10/transfer',
    submission_id: submissionId,
    task_id: taskId,
    task_link: { DATA_TYPE: 'link', href: `/v0.10/task/${taskId}?format=json`, rel: 'related', resource: 'task', title: 'related task' },
  };
}

