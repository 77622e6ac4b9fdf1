/**
 * make bench-e2e: BENCH_FILES (default 100,000) generated uploads through the
 * whole pipeline (log-tailer → batcher → Globus simulator → watcher → cleaner
 * and clowder-ingest → Clowder simulator), every service a separate process,
 * on the machine's RabbitMQ and Redis. The files exist in the cache first;
 * their xferlog lines are appended at BENCH_RATE lines/s (default 2,000), the
 * way uploads arrive. The stack runs in a vhost of its own, so the broker's
 * message counts are the run's. Two modes:
 *   BENCH_RATE=<n>   a fixed offered rate of n lines/s (default 2,000). While the pipeline keeps up
 *                    (`kept_up`), the CPU figures are the cost per file at that rate and the latencies
 *                    the pipeline's own; when it does not, the backlog grows and it runs saturated.
 *   BENCH_RATE=max   saturation: every line appended at once, so files_per_sec is the pipeline's capacity
 *                    and the latencies measure the backlog.
 * BENCH_CPU_PROF=DIR: every service and simulator runs with --cpu-prof into DIR.
 * Its files live in /tmp/terra-bench-e2e-<prefix> (a directory per run, removed at the end), so runs side by side do not collide.
 * BENCH_TRANSFER_LOG=1: the transfer log runs beside (its CPU is listed, not counted in the pipeline's).
 * Prints one JSON line:
 *   mode                           "fixed_rate" or "saturation"
 *   files_per_sec                  files deleted and ingested / (last completion − first log line)
 *   p50|p99_deleted_seconds        log line written → file.deleted
 *   p50|p99_ingested_seconds       log line written → file.ingested
 *   broker_confirmed_msgs_per_sec  the broker's ceiling in the same run: N confirmed publishes of the same size to a quorum queue, window 1,000
 * and where the CPU went, each process's utime + stime from /proc over the run (first log line → all files done):
 *   cpu_seconds                    per process: every service and simulator, rabbitmq and redis (the processes listening on 5672 and 6379), driver (this process)
 *   pipeline_cpu_ms_per_file       the five services + RabbitMQ + Redis
 *   services_cpu_ms_per_file       the five services alone (the figure other work on the machine's broker does not move)
 *   sim_cpu_ms_per_file            the Globus and Clowder simulators
 *   driver_cpu_ms_per_file         this process (writes the log, reads the outcome tap)
 *   broker_msgs_per_file           messages published + delivered in the run's vhost (management API), per file;
 *                                  broker_msgs: the counts, and per queue the messages routed in and delivered
 *   peak_rss_mb                    per service and simulator (VmHWM)
 *   rss_mb_at_quarters             per service and simulator, RSS when ¼, ½, ¾ and all of the files were done
 * RabbitMQ and Redis are the machine's, shared with whatever else runs: their CPU is all of theirs during the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import amqp from 'amqplib';
import { deletedChunk, ingestedChunk, validate } from '@terra-transfer/contracts';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { createVhost, deleteKeys, freePort, pidListeningOn, processCpuSeconds, processPeakRssMb, processRssMb, uniquePrefix } from '@terra-transfer/testkit';
import { xferLine } from './gantry.js';
import { DEST_SITE_ROOT, SERVICES, dropTransferLogDatabase, localStack, transferLogDatabaseUrl, type ServiceName } from './local.js';
import { prepareLayout } from './stack.js';

const N = Number(process.env['BENCH_FILES'] ?? 100_000);
const RATE_SETTING = process.env['BENCH_RATE'] ?? '2000';
const SATURATION = RATE_SETTING === 'max';
const RATE = SATURATION ? Infinity : Number(RATE_SETTING);
if (!SATURATION && !(RATE > 0)) throw new Error(`BENCH_RATE must be a positive number of lines/s or "max", not ${RATE_SETTING}`);
const CPU_PROF = process.env['BENCH_CPU_PROF'];
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const MANAGEMENT_URL = 'http://127.0.0.1:15672/api';
/** The five services; the rest of the stack's processes are the simulators. */
const PIPELINE = ['log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest'];
const SIMULATORS = ['globus-sim', 'clowder-sim'];
const say = (s: string) => process.stderr.write(`bench-e2e: ${s}\n`);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(2));
}

async function brokerCeiling(n: number, bodySize: number): Promise<number> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  const q = `${uniquePrefix('ceiling')}.q`;
  await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const body = Buffer.alloc(bodySize, 'x');
  const t0 = performance.now();
  const WINDOW = 1000;
  for (let i = 0; i < n; i += WINDOW) {
    await Promise.all(Array.from({ length: Math.min(WINDOW, n - i) }, () => new Promise<void>((res, rej) => {
      ch.publish('', q, body, { persistent: true, mandatory: true }, (err) => (err ? rej(err) : res()));
    })));
    if (i % 20_000 === 0) await ch.purgeQueue(q);
  }
  const secs = (performance.now() - t0) / 1000;
  await ch.deleteQueue(q);
  await conn.close();
  return Math.round(n / secs);
}

/** The management API's message counts of a vhost: the whole vhost's, and per queue. */
async function vhostMessageStats(vhost: string) {
  const get = async (path: string) => {
    const r = await fetch(`${MANAGEMENT_URL}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    if (!r.ok) throw new Error(`management API ${path}: HTTP ${r.status}`);
    return r.json();
  };
  const v = (await get(`/vhosts/${encodeURIComponent(vhost)}`)) as { message_stats?: { publish?: number; deliver_get?: number } };
  const qs = (await get(`/queues/${encodeURIComponent(vhost)}?columns=name,message_stats`)) as Array<{ name: string; message_stats?: { publish?: number; deliver_get?: number } }>;
  return {
    published: v.message_stats?.publish ?? 0,
    delivered: v.message_stats?.deliver_get ?? 0,
    queues: Object.fromEntries(qs.filter((q) => (q.message_stats?.publish ?? 0) + (q.message_stats?.deliver_get ?? 0) > 0)
      .map((q) => [q.name, { in: q.message_stats?.publish ?? 0, delivered: q.message_stats?.deliver_get ?? 0 }])),
  };
}

/** The management API's counts lag (statistics are collected every 5 s): read until two reads 6 s apart agree. */
async function settledMessageStats(vhost: string) {
  let prev = await vhostMessageStats(vhost);
  for (let i = 0; i < 5; i++) {
    await sleep(6_000);
    const next = await vhostMessageStats(vhost);
    if (next.published === prev.published && next.delivered === prev.delivered) return next;
    prev = next;
  }
  return prev;
}

const prefix = uniquePrefix('bench-e2e');
const vhost = await createVhost('bench-e2e');
// A directory of the run's own: two benches at once (helpers share the machine) must not remove each other's files.
const workDir = `/tmp/terra-bench-e2e-${prefix}`;
await rm(workDir, { recursive: true, force: true });
// The transfer log (and its PostgreSQL) is not part of the pipeline the bench measures (it has its own bench); BENCH_TRANSFER_LOG=1 runs it beside.
const WITH_TRANSFER_LOG = process.env['BENCH_TRANSFER_LOG'] === '1';
const ports = Object.fromEntries(await Promise.all(SERVICES.filter((s) => WITH_TRANSFER_LOG || s !== 'transfer-log').map(async (s) => [s, await freePort()]))) as Partial<Record<ServiceName, number>>;
const prof: Record<string, string> = CPU_PROF ? { STACK_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${CPU_PROF}` } : {};
const { stack, layout } = localStack({
    batch: { maxFiles: 500, maxAgeSeconds: 2 },
  workDir, prefix, ports, logLevel: 'warn', amqpUrl: vhost.url,
  env: {
    'log-tailer': prof, cleaner: prof, 'clowder-ingest': prof,
    batcher: { MAX_CONCURRENT_SUBMITS: '4', ...prof },
    watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '3000', GLOBUS_RATE_LIMIT: '20', ...prof },
    'globus-sim': { LOG_LEVEL: 'warn', ...prof },
    'clowder-sim': { LOG_LEVEL: 'warn', ...prof },
  },
});
await prepareLayout(layout);

// The uploads: datasets of 3 files + metadata.json in the stereoTop layout, small files.
say(`writing ${N} files`);
const files: Array<{ rel: string; size: number }> = [];
const start = Date.UTC(2026, 10, 24, 6);
for (let i = 0; files.length < N; i++) {
  const t = new Date(start + i * 1000);
  const date = t.toISOString().slice(0, 10);
  const ts = `${date}__${t.toISOString().slice(11, 19).replace(/:/g, '-')}-000`;
  const dir = `MovingSensor/stereoTop/${date}/${ts}`;
  mkdirSync(join(layout.cacheRoot, dir), { recursive: true });
  for (const name of ['left.bin', 'right.bin', 'nir.bin', `${ts}_metadata.json`]) {
    if (files.length >= N) break;
    const rel = `${dir}/${name}`;
    const body = name.endsWith('.json') ? JSON.stringify({ lemnatec_measurement_metadata: { time: ts } }) : `${rel}\n`.repeat(8);
    writeFileSync(join(layout.cacheRoot, rel), body);
    files.push({ rel, size: Buffer.byteLength(body) });
  }
}

say('measuring the broker ceiling');
const ceiling = await brokerCeiling(Math.min(N, 100_000), 560);

say('starting the stack');
// Whatever happens below, no service outlives the benchmark.
process.on('exit', () => {
  for (const p of stack.procs.values()) if (p.pid && p.running) process.kill(p.pid, 'SIGKILL');
});
await stack.start();

// Completion times from the outcome stream (file.deleted, file.ingested).
const lineAt = new Map<string, number>();
const deletedAt = new Map<string, number>();
const ingestedAt = new Map<string, number>();
const byDest = new Map(files.map((f) => [join(DEST_SITE_ROOT, destinationRelPath(f.rel)), f.rel]));
const conn = await amqp.connect(vhost.url);
const ch = await conn.createChannel();
await ch.prefetch(2000);
await ch.consume(`${prefix}.file-outcomes`, (m) => {
  if (!m) return;
  // Outcomes come per chunk of files (decision 0053), each file with its own.
  const e = validate(['file.deleted', 'file.ingested'], JSON.parse(m.content.toString()));
  const at = Date.parse(e.time);
  if (e.type === 'file.deleted') {
    for (const f of deletedChunk(e).files) {
      const rel = f.path.slice(layout.cacheRoot.length + 1);
      if (!deletedAt.has(rel)) deletedAt.set(rel, at);
    }
  } else {
    for (const f of ingestedChunk(e).files) {
      const rel = byDest.get(f.destinationPath);
      if (rel && !ingestedAt.has(rel)) ingestedAt.set(rel, at);
    }
  }
  ch.ack(m);
});

// Where the CPU goes, from the first log line to the end: each process of the stack, the broker, Redis, this process.
// The machine's broker and Redis by the port they listen on: tests beside the bench may run brokers and Redis servers of their own.
const brokerPid = pidListeningOn(5672);
const redisPid = pidListeningOn(6379);
if (brokerPid === null || redisPid === null) throw new Error(`cannot find the process listening on ${brokerPid === null ? '5672 (RabbitMQ)' : '6379 (Redis)'}`);
const cpuNow = (): Record<string, number> => ({
  ...Object.fromEntries([...stack.procs].map(([name, p]) => [name, (p.pid && processCpuSeconds(p.pid)) || 0])),
  rabbitmq: processCpuSeconds(brokerPid) ?? 0,
  redis: processCpuSeconds(redisPid) ?? 0,
  driver: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
});
say(`appending ${N} xferlog lines ${SATURATION ? 'at once (saturation)' : `at ${RATE}/s`}`);
const log = join(layout.logDir, 'xferlog');
writeFileSync(log, '');
const cpu0 = cpuNow();
const t0 = Date.now();
for (let i = 0; i < files.length; ) {
  // Saturation: 10,000 lines per append, so one write is never a 100,000-line string.
  const due = SATURATION ? Math.min(files.length, i + 10_000) : Math.min(files.length, Math.floor(((Date.now() - t0) / 1000) * RATE) + 1);
  if (due > i) {
    const now = Date.now();
    let chunk = '';
    for (; i < due; i++) {
      const f = files[i]!;
      chunk += `${xferLine({ ftpPath: `/gantry_data/${f.rel}`, size: f.size, direction: 'i', status: 'c' }, new Date(now))}\n`;
      lineAt.set(f.rel, now);
    }
    appendFileSync(log, chunk);
  }
  if (!SATURATION) await sleep(20);
}
const offeredSec = (Date.now() - t0) / 1000;

let last = 0;
let lastChange = Date.now();
// Each process's RSS when a quarter, half, three quarters and all of the files are done: flat, or growing with the run.
const rssAtQuarters: Record<string, number[]> = Object.fromEntries([...stack.procs.keys()].map((name) => [name, []]));
for (;;) {
  await sleep(1000);
  const done = Math.min(deletedAt.size, ingestedAt.size);
  while (done >= ((rssAtQuarters['batcher']!.length + 1) * N) / 4 && rssAtQuarters['batcher']!.length < 4) {
    for (const [name, p] of stack.procs) rssAtQuarters[name]!.push((p.pid && processRssMb(p.pid)) || 0);
  }
  if (done !== last) {
    last = done;
    lastChange = Date.now();
    say(`${deletedAt.size} deleted, ${ingestedAt.size} ingested`);
  }
  if (done >= N || Date.now() - lastChange > 120_000) break;
}
const cpu1 = cpuNow();
const peakRssMb = Object.fromEntries([...stack.procs].map(([name, p]) => [name, (p.pid && processPeakRssMb(p.pid)) || 0]));
const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
let lastCompletion = 0;
for (const t of [...deletedAt.values(), ...ingestedAt.values()]) if (t > lastCompletion) lastCompletion = t;
const deletedLat = files.flatMap((f) => (deletedAt.has(f.rel) ? [(deletedAt.get(f.rel)! - lineAt.get(f.rel)!) / 1000] : []));
const ingestedLat = files.flatMap((f) => (ingestedAt.has(f.rel) ? [(ingestedAt.get(f.rel)! - lineAt.get(f.rel)!) / 1000] : []));
const complete = Math.min(deletedAt.size, ingestedAt.size);
const tasks = await stack.metric('batcher', 'terra_transfer_batches_submitted_total');
const cpuSeconds = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, Number((v - (cpu0[k] ?? 0)).toFixed(2))]));
const msPerFile = (names: string[]) => Number(((names.reduce((t, n) => t + (cpuSeconds[n] ?? 0), 0) * 1000) / Math.max(1, complete)).toFixed(3));
// Stopped before counting, so the broker's counts are final (the driver's tap consumer is the last to go).
await conn.close();
const msgs = await settledMessageStats(vhost.vhost);
const filesPerSec = Math.round(complete / ((lastCompletion - t0) / 1000));
const offered = Math.round(N / offeredSec);
process.stdout.write(`${JSON.stringify({
  bench: 'e2e',
  mode: SATURATION ? 'saturation' : 'fixed_rate',
  kept_up: !SATURATION && filesPerSec >= 0.95 * offered,
  files: N,
  completed: complete,
  offered_lines_per_sec: offered,
  files_per_sec: filesPerSec,
  load1,
  pipeline_cpu_ms_per_file: msPerFile([...PIPELINE, 'rabbitmq', 'redis']),
  services_cpu_ms_per_file: msPerFile(PIPELINE),
  sim_cpu_ms_per_file: msPerFile(SIMULATORS),
  driver_cpu_ms_per_file: msPerFile(['driver']),
  broker_msgs_per_file: Number(((msgs.published + msgs.delivered) / Math.max(1, complete)).toFixed(2)),
  p50_deleted_seconds: pct(deletedLat, 50),
  p99_deleted_seconds: pct(deletedLat, 99),
  p50_ingested_seconds: pct(ingestedLat, 50),
  p99_ingested_seconds: pct(ingestedLat, 99),
  broker_confirmed_msgs_per_sec: ceiling,
  globus_tasks: tasks,
  cpu_seconds: cpuSeconds,
  peak_rss_mb: peakRssMb,
  rss_mb_at_quarters: rssAtQuarters,
  broker_msgs: msgs,
})}\n`);
// SIGTERM, so that --cpu-prof profiles are written.
if (CPU_PROF) await stack.stop();
await stack.killAll();
await vhost.remove();
if (WITH_TRANSFER_LOG) await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
await deleteKeys(`${prefix}:`).catch(() => undefined);
await rm(workDir, { recursive: true, force: true });
process.exit(complete >= N ? 0 : 1);
