/**
 * One sweep, in its own process so its peak RSS is its own (bench-sweep's
 * child). Reads BENCH_* from the environment, prints one JSON line.
 */
import { FileLedger } from '@terra-transfer/ledger';
import { AmqpClient, closeRedis, createLogger, createRedis, createRegistry } from '@terra-transfer/platform';
import { cpuSecondsByName, totalCpuSecondsByName } from '@terra-transfer/testkit';
import { realpath } from 'node:fs/promises';
import { SweepStore } from '../src/adapters/sweep-store.js';
import { cleanerSettings } from '../src/config.js';
import { Sweeper } from '../src/sweeper.js';
import { cleanerTelemetry } from '../src/telemetry.js';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
};

const root = env('BENCH_ROOT');
const prefix = env('BENCH_PREFIX');
const logger = createLogger({ service: 'cleaner-bench', level: 'warn', destination: process.stderr });
const registry = createRegistry();
const redis = createRedis({ url: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379'), connectionName: 'cleaner-bench', logger });
const amqp = new AmqpClient({ url: env('BENCH_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'), prefix, connectionName: 'cleaner-bench', logger, registry, sites: ['ua-mac'] });
await amqp.start();

let peakSampled = 0;
let peakHeap = 0;
let peakExternal = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakSampled = Math.max(peakSampled, m.rss);
  peakHeap = Math.max(peakHeap, m.heapTotal);
  peakExternal = Math.max(peakExternal, m.external);
}, 100);

const sweeper = new Sweeper(
  {
    site: 'ua-mac',
    cacheRoot: root,
    realRoot: await realpath(root),
    whitelist: env('BENCH_WHITELIST').split(','),
    minAgeMs: Number(env('BENCH_MIN_AGE_MINUTES', '2880')) * 60_000,
    // The service's defaults unless overridden.
    chunk: Number(env('BENCH_CHUNK', String(cleanerSettings.SWEEP_CHUNK.default))),
    publishWindow: Number(env('BENCH_PUBLISH_WINDOW', String(cleanerSettings.SWEEP_PUBLISH_WINDOW.default))),
    lockTtlMs: 30_000,
    schedule: { intervalMs: 0, dailyAt: null },
  },
  { ledger: new FileLedger(redis, prefix), redis, store: new SweepStore(redis, prefix, 'ua-mac'), publish: (e) => amqp.publish(e), telemetry: cleanerTelemetry(logger, registry), logger },
);

/** The walk process's CPU seconds by pid, as last seen by a sampler (it is a child that exits before the end). */
const walkCpu = new Map<string, number>();
/** CPU seconds used so far by the broker and Redis, from /proc: where the sweep's time goes. */
const others = () => ({ broker: totalCpuSecondsByName(/^beam\.smp$/), redis: totalCpuSecondsByName(/^redis-server$/) });
const walkSampler = setInterval(() => {
  for (const [pid, sec] of cpuSecondsByName(/^find$/)) walkCpu.set(pid, sec);
}, 200);
const othersBefore = others();
const selfBefore = process.cpuUsage();
const rssBefore = process.memoryUsage.rss();
const t0 = process.hrtime.bigint();
const started = await sweeper.start('api');
if (!started) throw new Error('sweep lock held');
const result = await started.done;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(sampler);
peakSampled = Math.max(peakSampled, process.memoryUsage.rss());
clearInterval(walkSampler);
const selfCpu = process.cpuUsage(selfBefore);
const othersAfter = others();
await amqp.close(1000);
await closeRedis(redis);
process.stdout.write(`${JSON.stringify({
  seconds,
  state: result.state,
  error: result.error,
  counts: result.counts,
  // maxRSS: the kernel's high-water mark for the process (KiB), start-up included.
  peak_rss_mb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  sampled_peak_rss_mb: Math.round((peakSampled / 1048576) * 10) / 10,
  rss_before_sweep_mb: Math.round((rssBefore / 1048576) * 10) / 10,
  // This process's heap (the walk is find's, in its own process).
  peak_heap_total_mb: Math.round((peakHeap / 1048576) * 10) / 10,
  peak_external_mb: Math.round((peakExternal / 1048576) * 10) / 10,
  // CPU seconds during the sweep: this process, the broker and Redis (whole
  // processes, so anything else they served meanwhile too); the walk process's own is in walk_cpu_seconds.
  cpu_seconds: {
    sweep: round1((selfCpu.user + selfCpu.system) / 1e6),
    broker: round1(othersAfter.broker - othersBefore.broker),
    redis: round1(othersAfter.redis - othersBefore.redis),
  },
  walker: 'find',
  // The walk process (find) is this process's child: its CPU as last seen by a 200 ms sampler (so slightly low).
  walk_cpu_seconds: round1([...walkCpu.values()].reduce((a, b) => a + b, 0)),
})}\n`);

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
