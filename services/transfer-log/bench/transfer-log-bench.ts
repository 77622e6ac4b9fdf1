/**
 * make bench-transfer-log: the transfer log (its dist/main.js, a real process)
 * loads a generated pipeline stream (see stream.ts) from the real RabbitMQ
 * into a fresh PostgreSQL database while it is queried by path (lineage) and
 * by week (volumes). Prints one JSON line:
 *   events_per_sec        events committed (and so acked) per second, over the whole run:
 *                         the service's own count of events written, from the first publish to the last commit
 *   lineage_p99_ms        GET /api/v1/files?path=<a path already loaded> while loading (p50 too), timed by
 *                         readers in a process of their own (query-load.ts); lineage_server_p99_ms: the
 *                         service's own request time (its histogram), bucket upper bound
 *   volume_week_p99_ms    GET /api/v1/volumes?by=week over the stream's span while loading (p50 too)
 *   db_bytes_per_event    pg_database_size / events stored, at the end
 *   peak_rss_mb           VmHWM of the service; rss_mb_quarters: mean RSS per quarter of the run
 *
 * Load: at saturation by default, or at a fixed offered rate with BENCH_RATE (events/s): the
 * first answers how fast the log can write, the second how it answers readers at a given load.
 * Published with publisher confirms (a window of BENCH_WINDOW) to the
 * log's queue as fast as the broker takes them, while the backlog (published,
 * not yet committed) stays under BENCH_BACKLOG: the service never waits for
 * events, and the broker never holds millions. Published to the queue through
 * the default exchange, so the other services' queues (no consumer here) do not
 * fill up; the service consumes exactly as in production.
 *
 * Size: BENCH_EVENTS over BENCH_FILES paths (default the issue's 10,000,000
 * over 2,000,000), cut at BENCH_SECONDS of publishing (default 900): the line
 * says the planned stream and what was loaded. Queries: BENCH_QPS per second
 * in all (half lineage, half volumes). BENCH_LAG_TASKS: tasks uploaded between a
 * task's submission and its outcomes (default 4). BENCH_KEEP_DB=1 keeps the database.
 * Progress goes to stderr.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { topology, validate } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, deleteTopology, freePort, processCpuSeconds, testLogger, totalCpuSecondsByName, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import type { QueryResult } from './query-load.js';
import { SITES, chunks, type StreamPlan } from './stream.js';

const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const EVENTS = num('BENCH_EVENTS', 10_000_000);
const FILES = num('BENCH_FILES', 2_000_000);
const SECONDS = num('BENCH_SECONDS', 900);
const QPS = num('BENCH_QPS', 20);
const WINDOW = num('BENCH_WINDOW', 1000);
const BACKLOG = num('BENCH_BACKLOG', 100_000);
const SPAN_DAYS = num('BENCH_SPAN_DAYS', 28);
const LAG_TASKS = Number(process.env['BENCH_LAG_TASKS'] ?? 4);
/** Offered load in events per second (0: saturation, as fast as the broker and the service take them). */
const RATE = Number(process.env['BENCH_RATE'] ?? 0);
const LOAD_AT_START = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const KEEP_DB = process.env['BENCH_KEEP_DB'] === '1';
/** Extra settings for the service, as JSON (e.g. '{"BATCH_SIZE":"2000"}'). */
const SERVICE_ENV = JSON.parse(process.env['BENCH_SERVICE_ENV'] ?? '{}') as Record<string, string>;
/** Node flags for the service (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'). */
const NODE_ARGS = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const QUERY_LOAD = fileURLToPath(new URL('./query-load.js', import.meta.url));
const PG_ADMIN_URL = process.env['BENCH_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const say = (msg: string) => process.stderr.write(`[bench-transfer-log] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return Number(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!.toFixed(1));
}

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Sum of a counter over all its label sets, from the service's /metrics. */
async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/**
 * The q-quantile of one route's request time from the service's histogram, as the upper bound (ms)
 * of the first bucket whose cumulative count reaches it (coarse, but the service's own clock).
 */
function routeQuantileMs(metrics: string, route: string, q: number): number | null {
  const prefix = `terra_transfer_http_request_duration_seconds_bucket{`;
  const buckets = metrics
    .split('\n')
    .filter((l) => l.startsWith(prefix) && l.includes(`route="${route}"`) && l.includes('method="GET"'))
    .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)![1]), n: Number(l.slice(l.lastIndexOf(' ') + 1)) }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return null;
  const hit = buckets.find((b) => b.n >= q * total)!;
  return Number.isFinite(hit.le) ? hit.le * 1000 : null;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function startService(env: Record<string, string>): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [...NODE_ARGS, MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 100_000) out = out.slice(-50_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { proc, output: () => out, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

/** The readers, forked into a process of their own (query-load.ts): the publisher's event loop never delays them. */
class QueryLoad {
  private readonly proc: ChildProcess;
  private lastLoaded = -1;

  constructor(url: string, plan: StreamPlan, qps: number) {
    this.proc = fork(QUERY_LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.send({ type: 'start', url, plan, qps });
  }

  loaded(versions: number): void {
    if (versions === this.lastLoaded) return;
    this.lastLoaded = versions;
    this.proc.send({ type: 'loaded', versions });
  }

  /** Stops firing, waits for the answers in flight, and returns every latency. */
  async stop(): Promise<QueryResult> {
    const result = new Promise<QueryResult>((resolve, reject) => {
      this.proc.once('message', (m: QueryResult) => resolve(m));
      this.proc.once('exit', (code) => reject(new Error(`the query process exited (${code}) before reporting`)));
    });
    this.proc.send({ type: 'stop' });
    return result;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

async function main(): Promise<void> {
  const prefix = uniquePrefix('bench-tlog');
  const queue = topology(prefix).queue('transferLog');
  const dbName = `terra_tlog_bench_${randomBytes(4).toString('hex')}`;
  const dbUrl = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const plan: StreamPlan = { events: EVENTS, files: FILES, spanDays: SPAN_DAYS, endMs: Date.now() - 3_600_000, lagTasks: LAG_TASKS };

  // The generator's shapes are the contracts' (checked once on its first task, not per event: that would be the bench's CPU, not the service's).
  const first = chunks({ ...plan, events: 3000, lagTasks: 0 }).next().value!;
  for (const e of first.events) validate(undefined, JSON.parse(e.body.toString()));

  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'bench-transfer-log', logger: testLogger(), registry: createRegistry() });
  await amqp.start(); // declares the topology, the log's queue included
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The service reads its sites from a site file: the stream's sites, each with a cache of its own.
  const sitesFile = join(mkdtempSync(join(tmpdir(), 'bench-tlog-')), 'sites.yaml');
  writeFileSync(sitesFile, stringifySites([...new Set(SITES)].map((name) => testSite({ name, cacheRoot: `/bench/${name}` }))));
  const svc = startService({
    SITES_FILE: sitesFile, AMQP_URL, AMQP_PREFIX: prefix, DATABASE_URL: dbUrl, DATABASE_CREATE: 'true', HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), LOG_LEVEL: 'warn', ...SERVICE_ENV,
  });
  const pid = svc.proc.pid!;
  let stopQueries = () => {};
  try {
    await waitFor('transfer-log /readyz', async () => {
      if (svc.proc.exitCode !== null) throw new Error(`transfer-log exited: ${svc.output().slice(-2000)}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok ?? false;
    }, 60_000, 100);
    say(`service ${pid} ready on ${port}, database ${dbName}; stream ${EVENTS} events over ${FILES} files, cut at ${SECONDS} s`);

    let committed = 0;
    const poll = async () => {
      committed = await metricSum(url, 'terra_transfer_log_events_total');
    };
    // Versions whose task was fully committed: the query loop asks only for paths the log has.
    const chunkEnds: Array<{ events: number; versions: number }> = [];
    let loadedVersions = 0;
    const rss: Array<{ t: number; kb: number }> = [];

    const queries = new QueryLoad(url, plan, QPS);
    stopQueries = () => queries.kill();
    const cpu0 = processCpuSeconds(pid) ?? 0;
    const pgCpu0 = totalCpuSecondsByName(/^postgres$/);
    let loopLagMaxMs = 0;
    const lagSampler = setInterval(() => {
      void metricSum(url, 'nodejs_eventloop_lag_p99_seconds').then((s) => (loopLagMaxMs = Math.max(loopLagMaxMs, s * 1000)), () => undefined);
    }, 5_000);
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    const sampler = setInterval(() => {
      void poll().catch(() => undefined);
      const kb = procStatusKb(pid, 'VmRSS');
      if (kb !== null) rss.push({ t: elapsed(), kb });
      while (chunkEnds.length > 0 && chunkEnds[0]!.events <= committed) loadedVersions = chunkEnds.shift()!.versions;
      queries.loaded(loadedVersions);
    }, 500);
    const progress = setInterval(() => say(`${elapsed().toFixed(0)} s: ${committed} committed (${Math.round(committed / elapsed())}/s), rss ${Math.round((rss.at(-1)?.kb ?? 0) / 1024)} MB`), 15_000);

    // Publish: a window of unconfirmed publishes, and a bounded backlog.
    let published = 0;
    let cut = false;
    const inflight = new Set<Promise<void>>();
    let filesSeen = 0;
    for (const chunk of chunks(plan)) {
      if (elapsed() >= SECONDS) {
        cut = true;
        break;
      }
      for (const e of chunk.events) {
        while (inflight.size >= WINDOW) await Promise.race(inflight);
        while (published - committed >= BACKLOG) await sleep(50);
        while (RATE > 0 && published >= elapsed() * RATE) await sleep(5);
        const p = amqp.publishRaw('', queue, e.body, { messageId: e.id, timestamp: e.time, contentType: 'application/json', type: e.type }).finally(() => inflight.delete(p));
        inflight.add(p);
        published++;
      }
      filesSeen = Math.min(FILES, chunk.end);
      chunkEnds.push({ events: published, versions: Math.min(chunk.end, chunk.first + chunk.events.length) });
    }
    await Promise.all(inflight);
    const publishSeconds = elapsed();
    say(`published ${published} in ${publishSeconds.toFixed(1)} s${cut ? ' (cut)' : ''}; waiting for the commits`);
    await waitFor('every event committed', async () => {
      await poll();
      return committed >= published;
    }, 600_000, 100);
    const seconds = elapsed();
    clearInterval(sampler);
    clearInterval(progress);
    clearInterval(lagSampler);
    const answers = await queries.stop();
    const cpu = (processCpuSeconds(pid) ?? cpu0) - cpu0;
    const hwmKb = procStatusKb(pid, 'VmHWM') ?? 0;
    const outcomes = await (await fetch(`${url}/metrics`)).text();
    const notRecorded = outcomes.split('\n').filter((l) => l.startsWith('terra_transfer_log_events_total{') && !l.includes('outcome="recorded"') && !l.endsWith(' 0'));
    const failuresMetric = await metricSum(url, 'terra_transfer_log_write_failures_total');
    const batches = await metricSum(url, 'terra_transfer_log_batch_duration_seconds_count');
    const batchSeconds = await metricSum(url, 'terra_transfer_log_batch_duration_seconds_sum');
    const pgCpu = totalCpuSecondsByName(/^postgres$/) - pgCpu0;

    const db = await admin(async (c) => {
      const size = await c.query<{ n: string }>('SELECT pg_database_size($1)::text AS n', [dbName]);
      const d = new pg.Client({ connectionString: dbUrl });
      await d.connect();
      try {
        const rows = await d.query<{ events: string; versions: string; arrived: string }>(
          `SELECT (SELECT count(*) FROM events)::text AS events, (SELECT count(*) FROM file_versions)::text AS versions, (SELECT COALESCE(sum(files), 0) FROM volumes_daily)::text AS arrived`,
        );
        const tables = await d.query<{ t: string; n: string }>(
          `SELECT t, pg_total_relation_size(t)::text AS n FROM unnest(ARRAY['file_versions','failures','volumes_daily']) t
           UNION ALL SELECT 'events', sum(pg_total_relation_size(inhrelid))::text FROM pg_inherits WHERE inhparent = 'events'::regclass`,
        );
        return { bytes: Number(size.rows[0]!.n), ...rows.rows[0]!, tables: Object.fromEntries(tables.rows.map((r) => [r.t, Math.round(Number(r.n) / 1048576)])) };
      } finally {
        await d.end();
      }
    });
    const events = Number(db.events);
    if (events !== published) throw new Error(`the log holds ${events} events, ${published} were published`);

    const quarter = (i: number) => {
      const xs = rss.filter((s) => s.t >= (seconds * i) / 4 && s.t < (seconds * (i + 1)) / 4);
      return xs.length ? Math.round(xs.reduce((a, s) => a + s.kb, 0) / xs.length / 1024) : null;
    };
    const lin = [...answers.lineage].sort((a, b) => a - b);
    const vol = [...answers.volumes].sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({
      bench: 'transfer-log',
      load: RATE > 0
        ? `offered at a fixed rate (offered_rate events/s), published with confirms while the service consumes`
        : 'saturation: published with confirms as fast as taken while the service consumes; backlog kept under backlog_max',
      offered_rate: RATE > 0 ? RATE : null,
      stream_events: EVENTS,
      stream_files: FILES,
      cut_at_seconds: cut ? SECONDS : null,
      events,
      files: filesSeen,
      versions: Number(db.versions),
      seconds: Number(seconds.toFixed(1)),
      events_per_sec: Math.round(events / seconds),
      publish_seconds: Number(publishSeconds.toFixed(1)),
      lineage_p50_ms: quantile(lin, 0.5),
      lineage_p99_ms: quantile(lin, 0.99),
      lineage_server_p50_ms: routeQuantileMs(outcomes, '/api/v1/files', 0.5),
      lineage_server_p99_ms: routeQuantileMs(outcomes, '/api/v1/files', 0.99),
      lineage_queries: lin.length,
      lineage_misses: answers.misses,
      volume_week_p50_ms: quantile(vol, 0.5),
      volume_week_p99_ms: quantile(vol, 0.99),
      volume_week_server_p99_ms: routeQuantileMs(outcomes, '/api/v1/volumes', 0.99),
      volume_queries: vol.length,
      query_errors: answers.errors,
      queries_skipped: answers.skipped,
      db_bytes: db.bytes,
      db_bytes_per_event: Math.round(db.bytes / events),
      table_mb: db.tables,
      peak_rss_mb: Math.round(hwmKb / 1024),
      rss_mb_quarters: [0, 1, 2, 3].map(quarter),
      service_cpu_us_per_event: Math.round((cpu / events) * 1e6),
      postgres_cpu_us_per_event: Math.round((pgCpu / events) * 1e6),
      batches,
      batch_ms_mean: batches ? Number(((batchSeconds / batches) * 1000).toFixed(1)) : null,
      batch_busy_share: Number((batchSeconds / seconds).toFixed(2)),
      event_loop_lag_p99_max_ms: Math.round(loopLagMaxMs),
      write_failures: failuresMetric,
      not_recorded: notRecorded,
      arrivals_counted: Number(db.arrived),
      backlog_max: BACKLOG,
      window: WINDOW,
      lag_tasks: LAG_TASKS,
      qps: QPS,
      service_env: SERVICE_ENV,
      loadavg_1m_at_start: LOAD_AT_START,
      loadavg_1m_at_end: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    })}\n`);
  } finally {
    stopQueries();
    svc.proc.kill('SIGTERM');
    const t = setTimeout(() => svc.proc.kill('SIGKILL'), 20_000);
    await svc.exited;
    clearTimeout(t);
    await amqp.close(1_000).catch(() => undefined);
    await deleteTopology(prefix).catch(() => undefined);
    if (KEEP_DB) say(`database kept: ${dbUrl}`);
    else await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch((err) => say(`could not drop ${dbName}: ${String(err)}`));
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
