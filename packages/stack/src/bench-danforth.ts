/**
 * make bench-danforth: BENCH_SNAPSHOTS (default 300) snapshots of 10 images
 * from a test Scanalyzer (BENCH_SMALL=1: each side / 8; default the real
 * sizes, VIS 2454×2056 8-bit, NIR 636×508 16-bit) through the lemnatec
 * source, the batcher, the Globus simulator, the watcher, clowder-ingest and
 * the Clowder simulator, every service a separate process, on the machine's
 * PostgreSQL, RabbitMQ and Redis. Snapshots are committed as fast as the
 * generator writes them. Prints one JSON line:
 *   snapshots_per_min       snapshots completed (metadata attached and all 10 images registered) / (last completion − first commit)
 *   images_per_snapshot     images registered per completed snapshot
 *   p50|p99_snapshot_seconds  a snapshot's commit → its last image registered (file.ingested)
 *   lost                    snapshots not complete when the bench gave up (BENCH_TIMEOUT_S, default 600)
 *   duplicates              Clowder files registered twice for one path (the simulator's count)
 *   cpu_seconds             CPU (user + system, /proc/<pid>/stat) each service process used from the stack's start
 *                           (after a prefill) to the end; `bench` is this process (the generator, live). PostgreSQL is
 *                           not counted: its backends come and go with connections, so a /proc sum is not monotonic
 *   wall_seconds            the same span
 * BENCH_PNG_COMPRESSION: the source's zlib level (default: the source's own default).
 * BENCH_CPU_PROF=DIR: the lemnatec source and the Globus simulator run with --cpu-prof into DIR (stopped with SIGTERM so
 * the profiles are written).
 * BENCH_SOURCE_ENV='{"IMAGES_IN_FLIGHT":"2",…}': settings of the lemnatec source over the bench's own (to measure one).
 * BENCH_PRIVATE_RABBIT=1: a private RabbitMQ node (testkit's startPrivateRabbit) for the run, its CPU in cpu_seconds.rabbitmq.
 * BENCH_PREFILL=1: every snapshot is committed before the stack starts (a backlog): the rate is then the
 * source's and the pipeline's own, not the generator's, and latencies count from the stack's start.
 * Progress goes to stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import amqp from 'amqplib';
import { ingestedChunk, topology, validate } from '@terra-transfer/contracts';
import { loadSites } from '@terra-transfer/sites';
import { readdirSync, readFileSync } from 'node:fs';
import { deleteKeys, deleteTopology, freePort, processCpuSeconds, startPrivateRabbit, uniquePrefix } from '@terra-transfer/testkit';
import { LEMNATEC_DB_URL_ENV, lemnatecSite, writeSitesFile } from './demo-sites.js';
import { localProcesses, localStack } from './local.js';
import { TestScanalyzer } from './scanalyzer.js';
import { LOCAL, prepareLayout } from './stack.js';

const N = Number(process.env['BENCH_SNAPSHOTS'] ?? 300);
const SMALL = process.env['BENCH_SMALL'] === '1';
const TIMEOUT_S = Number(process.env['BENCH_TIMEOUT_S'] ?? 600);
const PREFILL = process.env['BENCH_PREFILL'] === '1';
const PNG_COMPRESSION = process.env['BENCH_PNG_COMPRESSION'];
const CPU_PROF = process.env['BENCH_CPU_PROF'];
const SOURCE_ENV = JSON.parse(process.env['BENCH_SOURCE_ENV'] ?? '{}') as Record<string, string>;
const rabbit = process.env['BENCH_PRIVATE_RABBIT'] === '1' ? await startPrivateRabbit() : undefined;
/** The private node's Erlang VM: the process whose environment names the node's port. */
const rabbitPid = rabbit && readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('beam') && readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`RABBITMQ_NODE_PORT=${rabbit.port}`);
  } catch {
    return false;
  }
});
/** BENCH_AMQP_URL: another broker than the machine's (e.g. a private node). */
const AMQP_URL = rabbit?.url ?? process.env['BENCH_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const say = (s: string) => process.stderr.write(`bench-danforth: ${s}\n`);
const pct = (xs: number[], p: number) => (xs.length === 0 ? NaN : Number([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!.toFixed(2)));

const prefix = uniquePrefix('bench-df');
const db = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);
const workDir = '/tmp/terra-bench-danforth';
await rm(workDir, { recursive: true, force: true });
const lt = await TestScanalyzer.create({ systemDb: `${db}_sys`, blobRoot: join(workDir, 'blobs'), small: SMALL });
await lt.addExperiment(`${db}_exp`);
const sitesFile = writeSitesFile(join(workDir, 'conf'), [lemnatecSite(join(workDir, 'work'), { name: 'danforth', index: 9, blobRoot: join(workDir, 'blobs') })]);
const sites = loadSites(sitesFile);
const ports = Object.fromEntries(await Promise.all(localProcesses(sites, false).map(async (p) => [p.name, await freePort()])));
const { stack, layout } = localStack({
  workDir: join(workDir, 'work'), prefix, ports, sitesFile, logLevel: 'warn', amqpUrl: AMQP_URL,
  env: {
    'lemnatec-source': {
      [LEMNATEC_DB_URL_ENV]: lt.systemUrl, MAX_SNAPSHOTS_IN_FLIGHT: '8', IMAGES_IN_FLIGHT: '4', POLL_MS: '100',
      ...(PNG_COMPRESSION ? { PNG_COMPRESSION } : {}), ...(CPU_PROF ? { STACK_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${CPU_PROF}` } : {}),
      ...SOURCE_ENV,
    },
    'clowder-ingest': { INGEST_BATCH_WINDOW_MS: '50' },
    ...(CPU_PROF ? { 'globus-sim': { STACK_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${CPU_PROF}` } } : {}),
  },
});
await prepareLayout(layout);

// The outcome tap (file.ingested) read by a queue of the bench's own, bound before anything is published.
const conn = await amqp.connect(AMQP_URL);
const ch = await conn.createChannel();
const t = topology(prefix, ['danforth']);
const done = new Map<string, { files: number; last: number }>();
let result: Record<string, number> | undefined;
let cpuSeconds: Record<string, number> | undefined;
let wallSeconds: number | undefined;
const commits = new Map<string, number>();
const base = Date.UTC(2026, 4, 4, 0, 0, 0);
async function fill(): Promise<void> {
  say(`${N} snapshots of 10 images (${SMALL ? 'small' : 'real-size'} images) into the test Scanalyzer${PREFILL ? ', before the stack starts' : ''}`);
  for (let i = 0; i < N; i++) {
    // Distinct instants, 1.001 s apart, so each snapshot's dataset name is known in advance.
    const time = new Date(base + i * 1001);
    const s = await lt.snapshot(`${db}_exp`, { time });
    const iso = time.toISOString();
    commits.set(`ddpscIndoorSuite - ${iso.slice(0, 10)}__${iso.slice(11, 23).replace(/[:.]/g, '-')}`, s.committedAt);
    if ((i + 1) % 50 === 0) say(`${i + 1} committed; ${[...done.values()].filter((d) => d.files >= 11).length} complete`);
  }
}
try {
  if (PREFILL) await fill();
  // Bound before the services start: no file.ingested is missed.
  await ch.assertExchange(t.eventsExchange, 'topic', { durable: true });
  const q = (await ch.assertQueue('', { exclusive: true, autoDelete: true })).queue;
  await ch.bindQueue(q, t.eventsExchange, 'file.ingested');
  await stack.start();
  await ch.consume(q, (m) => {
    if (!m) return;
    // One file.ingested per chunk of files (decision 0053).
    for (const f of ingestedChunk(validate('file.ingested', JSON.parse(m.content.toString()))).files) {
      const d = done.get(f.datasetName) ?? { files: 0, last: 0 };
      d.files++;
      d.last = Date.now();
      done.set(f.datasetName, d);
    }
  }, { noAck: true });
  const t0 = Date.now();
  // Where the CPU goes: each service process and this process (the generator), from here to the end.
  const cpuNow = (): Record<string, number> => ({
    ...Object.fromEntries([...stack.procs].map(([name, p]) => [name, (p.pid && processCpuSeconds(p.pid)) || 0])),
    bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    ...(rabbitPid ? { rabbitmq: processCpuSeconds(rabbitPid) ?? 0 } : {}),
  });
  const cpu0 = cpuNow();
  if (PREFILL) for (const k of commits.keys()) commits.set(k, t0);
  else await fill();
  const complete = () => [...commits.keys()].filter((k) => (done.get(k)?.files ?? 0) >= 11);
  const deadline = Date.now() + TIMEOUT_S * 1000;
  while (complete().length < N && Date.now() < deadline) {
    await sleep(1000);
    say(`${complete().length}/${N} complete`);
  }
  const finished = complete();
  const cpu1 = cpuNow();
  cpuSeconds = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, Number((v - (cpu0[k] ?? 0)).toFixed(1))]));
  wallSeconds = Number(((Date.now() - t0) / 1000).toFixed(1));
  const lat = finished.map((k) => (done.get(k)!.last - commits.get(k)!) / 1000);
  const last = Math.max(...finished.map((k) => done.get(k)!.last));
  const summary = (await (await fetch(`${stack.url('clowder-sim')}/admin/summary`, { headers: { authorization: `Bearer ${LOCAL.simAdminToken}` } })).json()) as { duplicates: Record<string, unknown[]> };
  result = {
    snapshots_per_min: Number((finished.length / ((last - t0) / 60_000)).toFixed(1)),
    images_per_snapshot: Number((finished.reduce((n, k) => n + done.get(k)!.files - 1, 0) / Math.max(1, finished.length)).toFixed(2)),
    p50_snapshot_seconds: pct(lat, 50),
    p99_snapshot_seconds: pct(lat, 99),
    lost: N - finished.length,
    duplicates: Object.values(summary.duplicates).reduce((n, d) => n + d.length, 0),
  };
} finally {
  await conn.close().catch(() => undefined);
  if (CPU_PROF) for (const name of ['lemnatec-source', 'globus-sim']) await stack.stopService(name, 30_000).catch(() => undefined);
  await stack.killAll();
  await deleteTopology(prefix, AMQP_URL).catch(() => undefined);
  await deleteKeys(prefix).catch(() => undefined);
  await lt.drop().catch(() => undefined);
  await rm(workDir, { recursive: true, force: true });
  await rabbit?.stop();
}
process.stdout.write(`${JSON.stringify({ ...result, cpu_seconds: cpuSeconds, wall_seconds: wallSeconds, png_compression: PNG_COMPRESSION ?? 'default', source_env: SOURCE_ENV, snapshots: N, image_sizes: SMALL ? 'small (sides / 8)' : 'real (VIS 2454x2056 8-bit, NIR 636x508 16-bit)' })}\n`);
