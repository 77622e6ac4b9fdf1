/**
 * make bench-e2e: BENCH_FILES (default 100,000) generated uploads through the
 * whole pipeline (log-tailer → batcher → Globus simulator → watcher → cleaner
 * and clowder-ingest → Clowder simulator), every service a separate process,
 * on the machine's RabbitMQ and Redis. The files exist in the cache first;
 * their xferlog lines are appended at BENCH_RATE lines/s (default 2,000), the
 * way uploads arrive. Prints one JSON line:
 *   files_per_sec                  files deleted and ingested / (last completion − first log line)
 *   p50|p99_deleted_seconds        log line written → file.deleted
 *   p50|p99_ingested_seconds       log line written → file.ingested
 *   broker_confirmed_msgs_per_sec  the broker's ceiling in the same run: N confirmed publishes of the same size to a quorum queue, window 1,000
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import amqp from 'amqplib';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { deleteKeys, deleteTopology, freePort, uniquePrefix } from '@terra-transfer/testkit';
import { xferLine } from './gantry.js';
import { DEST_SITE_ROOT, SERVICES, localStack, type ServiceName } from './local.js';
import { prepareLayout } from './stack.js';

const N = Number(process.env['BENCH_FILES'] ?? 100_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 2_000);
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
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

const prefix = uniquePrefix('bench-e2e');
const workDir = '/tmp/terra-bench-e2e';
await rm(workDir, { recursive: true, force: true });
const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
const { stack, layout } = localStack({
    batch: { maxFiles: 500, maxAgeSeconds: 2 },
  workDir, prefix, ports, logLevel: 'warn',
  env: {
    batcher: { MAX_CONCURRENT_SUBMITS: '4' },
    watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '3000', GLOBUS_RATE_LIMIT: '20' },
    'globus-sim': { LOG_LEVEL: 'warn' },
    'clowder-sim': { LOG_LEVEL: 'warn' },
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

// Completion times from the per-file outcome stream (file.deleted, file.ingested).
const lineAt = new Map<string, number>();
const deletedAt = new Map<string, number>();
const ingestedAt = new Map<string, number>();
const byDest = new Map(files.map((f) => [join(DEST_SITE_ROOT, destinationRelPath(f.rel)), f.rel]));
const conn = await amqp.connect(AMQP_URL);
const ch = await conn.createChannel();
await ch.prefetch(2000);
await ch.consume(`${prefix}.file-outcomes`, (m) => {
  if (!m) return;
  const e = JSON.parse(m.content.toString()) as { type: string; time: string; data: { path?: string; destinationPath?: string } };
  const at = Date.parse(e.time);
  if (e.type === 'file.deleted' && e.data.path) {
    const rel = e.data.path.slice(layout.cacheRoot.length + 1);
    if (!deletedAt.has(rel)) deletedAt.set(rel, at);
  } else if (e.type === 'file.ingested' && e.data.destinationPath) {
    const rel = byDest.get(e.data.destinationPath);
    if (rel && !ingestedAt.has(rel)) ingestedAt.set(rel, at);
  }
  ch.ack(m);
});

say(`appending ${N} xferlog lines at ${RATE}/s`);
const log = join(layout.logDir, 'xferlog');
writeFileSync(log, '');
const t0 = Date.now();
for (let i = 0; i < files.length; ) {
  const due = Math.min(files.length, Math.floor(((Date.now() - t0) / 1000) * RATE) + 1);
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
  await new Promise((r) => setTimeout(r, 20));
}
const offeredSec = (Date.now() - t0) / 1000;

let last = 0;
let lastChange = Date.now();
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const done = Math.min(deletedAt.size, ingestedAt.size);
  if (done !== last) {
    last = done;
    lastChange = Date.now();
    say(`${deletedAt.size} deleted, ${ingestedAt.size} ingested`);
  }
  if (done >= N || Date.now() - lastChange > 120_000) break;
}
let lastCompletion = 0;
for (const t of [...deletedAt.values(), ...ingestedAt.values()]) if (t > lastCompletion) lastCompletion = t;
const deletedLat = files.flatMap((f) => (deletedAt.has(f.rel) ? [(deletedAt.get(f.rel)! - lineAt.get(f.rel)!) / 1000] : []));
const ingestedLat = files.flatMap((f) => (ingestedAt.has(f.rel) ? [(ingestedAt.get(f.rel)! - lineAt.get(f.rel)!) / 1000] : []));
const complete = Math.min(deletedAt.size, ingestedAt.size);
const tasks = await stack.metric('batcher', 'terra_transfer_batches_submitted_total');
process.stdout.write(`${JSON.stringify({
  bench: 'e2e',
  files: N,
  completed: complete,
  offered_lines_per_sec: Math.round(N / offeredSec),
  files_per_sec: Math.round(complete / ((lastCompletion - t0) / 1000)),
  p50_deleted_seconds: pct(deletedLat, 50),
  p99_deleted_seconds: pct(deletedLat, 99),
  p50_ingested_seconds: pct(ingestedLat, 50),
  p99_ingested_seconds: pct(ingestedLat, 99),
  broker_confirmed_msgs_per_sec: ceiling,
  globus_tasks: tasks,
})}\n`);
await conn.close();
await stack.killAll();
await deleteTopology(prefix).catch(() => undefined);
await deleteKeys(`${prefix}:`).catch(() => undefined);
await rm(workDir, { recursive: true, force: true });
process.exit(complete >= N ? 0 : 1);
