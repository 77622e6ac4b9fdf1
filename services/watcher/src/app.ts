import { Type } from '@sinclair/typebox';
import { TaskSubmittedData, createEvent } from '@terra-transfer/contracts';
import { buildHttp, errorBody, type AmqpClient, type HttpApp, type Logger, type Redis, type Registry } from '@terra-transfer/platform';
import { TASK_STATES, TaskStore, type TaskRecord } from './adapters/task-store.js';
import { watcherTelemetry } from './telemetry.js';
import { Watcher, type GlobusPort, type WatcherOptions } from './watcher.js';

export interface WatcherAppDeps {
  options: WatcherOptions;
  redisPrefix: string;
  amqp: AmqpClient;
  redis: Redis;
  globus: GlobusPort;
  logger: Logger;
  registry: Registry;
  apiToken: string;
}

const TaskView = Type.Object({
  taskId: Type.String(),
  state: Type.Union(TASK_STATES.map((s) => Type.Literal(s))),
  label: Type.String(),
  batchId: Type.String(),
  files: Type.Integer(),
  registeredAt: Type.String(),
  globusStatus: Type.Union([Type.String(), Type.Null()]),
  niceStatus: Type.Union([Type.String(), Type.Null()]),
  troubledSince: Type.Union([Type.String(), Type.Null()]),
  troubleReason: Type.Union([Type.String(), Type.Null()]),
  cancelledFor: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.String(), Type.Null()]),
  outcomeReason: Type.Union([Type.String(), Type.Null()]),
  completedAt: Type.Union([Type.String(), Type.Null()]),
  filesTransferred: Type.Integer(),
  filesRequeued: Type.Integer(),
  filesFailed: Type.Integer(),
});

function view(r: TaskRecord) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    taskId: r.taskId, state: r.state, label: r.data.label, batchId: r.data.batchId, files: r.data.files.length, registeredAt: new Date(r.registeredAt).toISOString(),
    globusStatus: r.globusStatus, niceStatus: r.niceStatus, troubledSince: iso(r.troubledSince), troubleReason: r.troubleReason, cancelledFor: r.cancelledFor,
    outcome: r.outcome, outcomeReason: r.outcomeReason, completedAt: iso(r.completedAt), filesTransferred: r.filesTransferred, filesRequeued: r.filesRequeued, filesFailed: r.filesFailed,
  };
}

/** Builds the watcher, its task API and its consumer wiring; never listens. */
export async function buildWatcherApp(deps: WatcherAppDeps): Promise<{ watcher: Watcher; http: HttpApp; store: TaskStore; startConsuming: () => void }> {
  const telemetry = watcherTelemetry(deps.logger, deps.registry);
  const store = new TaskStore(deps.redis, deps.redisPrefix);
  telemetry.tasksByState(() => store.countByState());
  const watcher = new Watcher(deps.options, { globus: deps.globus, store, amqp: deps.amqp, telemetry, logger: deps.logger });
  const http = await buildHttp({
    service: 'watcher',
    description: 'Watches Globus transfer tasks until they end and emits the files that arrived as file.transferred chunks.',
    tags: [{ name: 'tasks', description: 'Globus transfer tasks the watcher follows until they end.' }],
    logger: deps.logger,
    registry: deps.registry,
    authToken: deps.apiToken,
    checks: { amqp: () => deps.amqp.isConnected(), redis: () => deps.redis.status === 'ready' },
  });

  http.post('/api/v1/tasks', {
    onRequest: http.requireToken,
    schema: {
      operationId: 'registerTask', tags: ['tasks'], summary: 'Watch a Globus task',
      description: 'Registers a Globus task to watch (from a batcher at another site, or a transfer started by hand). Published as task.submitted, so both ways end in the same queue. Idempotent.',
      body: TaskSubmittedData,
      response: { 202: Type.Object({ taskId: Type.String(), status: Type.Literal('accepted') }), 400: { $ref: 'ErrorBody#' }, 401: { $ref: 'ErrorBody#' } },
    },
  }, async (req, reply) => {
    await deps.amqp.publish(createEvent('task.submitted', `task.submitted:${req.body.taskId}`, req.body));
    return reply.code(202).send({ taskId: req.body.taskId, status: 'accepted' as const });
  });

  http.get('/api/v1/tasks/:id', {
    schema: {
      operationId: 'getTask', tags: ['tasks'], summary: 'One watched task', description: 'A watched task and its state, by its Globus task id.', params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }), response: { 200: TaskView, 404: { $ref: 'ErrorBody#' } } },
  }, async (req, reply) => {
    const r = await store.get(req.params.id);
    if (!r) return reply.code(404).send(errorBody('NOT_FOUND', `no task ${req.params.id} is watched`));
    return view(r);
  });

  http.get('/api/v1/tasks', {
    schema: {
      operationId: 'listTasks', tags: ['tasks'], summary: 'Watched tasks in a state',
      description: 'Watched tasks in a state, newest first',
      querystring: Type.Object({ status: Type.Union(TASK_STATES.map((s) => Type.Literal(s)), { default: 'watching' }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      response: { 200: Type.Object({ status: Type.String(), total: Type.Integer(), tasks: Type.Array(TaskView) }) },
    },
  }, async (req) => {
    const ids = await store.list(req.query.status, req.query.limit);
    const records = (await Promise.all(ids.map((id) => store.get(id)))).filter((r) => r !== null);
    return { status: req.query.status, total: await store.count(req.query.status), tasks: records.map(view) };
  });

  const startConsuming = () => {
    deps.amqp.consume('watcherTasks', 'task.submitted', (e) => watcher.register(e.data, 'broker'), { prefetch: 20 });
    watcher.start();
  };
  return { watcher, http, store, startConsuming };
}
