/**
 * terra_transfer_tasks{state}: the watcher's tasks by state, read from its Redis indexes at each
 * scrape of /metrics; and its counters with a closed set of label values read 0 before anything happened.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { TaskSubmittedData } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type HttpApp, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import type { TaskStore } from '../src/adapters/task-store.js';
import { buildWatcherApp } from '../src/app.js';

const prefix = uniquePrefix('watcher-metrics');
const never = async () => { throw new Error('Globus is not called here'); };
let redis: Redis;
let http: HttpApp;
let store: TaskStore;
let close: () => Promise<void>;

beforeAll(async () => {
  const logger = testLogger();
  const registry = createRegistry();
  redis = createRedis({ url: REDIS_URL, connectionName: 'watcher-metrics-test', logger });
  // The broker client is never started: nothing here consumes or publishes.
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'watcher-metrics-test', logger, registry, deliveryLimit: 3, sites: [] });
  const app = await buildWatcherApp({
    options: { pollMinMs: 1000, pollMaxMs: 1000, stuckAfterMs: 60_000, maxAttempts: 3, completionConcurrency: 1, chunk: { files: 500, bytes: 2 ** 33 } },
    redisPrefix: prefix, amqp, redis, logger, registry, apiToken: 'token',
    globus: { tasksById: never, getTask: never, allSuccessfulTransfers: never, allSkippedErrors: never, cancelTask: never },
  });
  ({ http, store } = app);
  close = () => app.watcher.close();
});

afterAll(async () => {
  await http?.close();
  await close?.();
  await deleteKeys(prefix);
  await closeRedis(redis);
});

const scrape = async () => (await http.inject({ method: 'GET', url: '/metrics' })).body;
const series = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

it('counts the tasks of the store by state at each scrape', async () => {
  expect(series(await scrape(), 'terra_transfer_tasks', { state: 'watching' })).toBe(0);
  const task = (id: string) => ({ taskId: id, submissionId: `s-${id}`, site: 'ua-mac', files: [] }) as unknown as TaskSubmittedData;
  for (const id of ['t1', 't2', 't3']) await store.register(task(id));
  await store.completing('t3', 'SUCCEEDED', null);
  // The store's own indexes, read directly, are what the gauge must show.
  const expected = { watching: await store.count('watching'), completing: await store.count('completing'), closed: await store.count('closed') };
  expect(expected).toEqual({ watching: 2, completing: 1, closed: 0 });
  const text = await scrape();
  for (const [state, n] of Object.entries(expected)) expect(series(text, 'terra_transfer_tasks', { state })).toBe(n);
});

it('has a 0 series for every closed-set label value that has not happened yet', async () => {
  const text = await scrape();
  expect(series(text, 'terra_transfer_tasks_closed_total', { outcome: 'NOT_FOUND' })).toBe(0);
  expect(series(text, 'terra_transfer_tasks_registered_total', { via: 'http' })).toBe(0);
  expect(series(text, 'terra_transfer_files_completed_total', { result: 'requeued' })).toBe(0);
  expect(series(text, 'terra_transfer_task_transitions_refused_total', { step: 'closed' })).toBe(0);
});
