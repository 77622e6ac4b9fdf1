// make bench-globus-sim: what the simulator sustains, printed as one JSON line on stdout.
//  - small files: TASKS tasks of FILES_PER_TASK files of SMALL_BYTES each (verify_checksum on, as the
//    batcher submits), all submitted at once; max 3 running per owner, the rest queued, as Globus does.
//    tasks_per_sec and files_per_sec = totals / (first submit → last task SUCCEEDED).
//    The first large round is a warm-up and is not recorded; ratio_to_cp_paired_median is the median of per-round ratios.
//  - large files: LARGE_FILES files of LARGE_MB MiB, one task (no checksum), against `cp -r` of the
//    same files in the same run; ROUNDS alternating rounds, median of each; ratio_to_cp = sim / cp.
// The simulator runs as its own process (dist/main.js) and is driven by the real client over HTTP.
// Its API rate limit is off here: this measures the copy engine, not Globus's request quota.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlobusClient } from '@terra-transfer/globus';

const num = (k, d) => Number(process.env[k] ?? d);
const TASKS = num('BENCH_TASKS', 10);
const FILES_PER_TASK = num('BENCH_FILES_PER_TASK', 500);
const SMALL_BYTES = num('BENCH_SMALL_BYTES', 4096);
const LARGE_FILES = num('BENCH_LARGE_FILES', 4);
const LARGE_MB = num('BENCH_LARGE_MB', 256);
const ROUNDS = num('BENCH_ROUNDS', 7);
const CHECKSUM_ROUNDS = num('BENCH_CHECKSUM_ROUNDS', 2);

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SRC = 'aaaaaaaa-0000-4000-8000-00000000b001';
const DST = 'bbbbbbbb-0000-4000-8000-00000000b002';
const CLIENT_ID = 'cccccccc-0000-4000-8000-00000000b003';
const SECRET = randomBytes(16).toString('hex');

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Every timed copy starts from the same disk state: earlier writes flushed, then a short settle
// (the machine is a shared VM whose disk also serves other work; rounds alternate and medians are kept).
const settle = async () => {
  spawnSync('sync');
  await sleep(300);
};

const dir = await mkdtemp(join(tmpdir(), 'terra-bench-globus-'));
let proc;
try {
  const srcRoot = join(dir, 'src');
  const dstRoot = join(dir, 'dst');
  await mkdir(join(srcRoot, 'large'), { recursive: true });
  for (let t = 0; t < TASKS; t++) {
    await mkdir(join(srcRoot, `small/t${t}`), { recursive: true });
    for (let f = 0; f < FILES_PER_TASK; f++) await writeFile(join(srcRoot, `small/t${t}/f${f}.bin`), randomBytes(SMALL_BYTES));
  }
  const block = randomBytes(16 << 20);
  for (let i = 0; i < LARGE_FILES; i++) {
    const parts = [];
    for (let b = 0; b < LARGE_MB / 16; b++) parts.push(block);
    await writeFile(join(srcRoot, `large/l${i}.bin`), Buffer.concat(parts));
  }

  await settle();
  const port = await freePort();
  // BENCH_SIM_NODE_ARGS: extra node flags for the simulator process (e.g. --cpu-prof), for profiling.
  proc = spawn(process.execPath, [...(process.env.BENCH_SIM_NODE_ARGS ?? '').split(' ').filter(Boolean), MAIN], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      HTTP_PORT: String(port),
      GLOBUS_SIM_ENDPOINTS: JSON.stringify({ [SRC]: { root: srcRoot }, [DST]: { root: dstRoot } }),
      GLOBUS_SIM_CLIENTS: JSON.stringify({ [CLIENT_ID]: { secret: SECRET, identity: randomUUID() } }),
      GLOBUS_SIM_STATE_DIR: join(dir, 'state'),
      GLOBUS_SIM_RATE_LIMIT_PER_SEC: '0',
      GLOBUS_SIM_TICK_MS: '100',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 150) throw new Error('simulator did not start');
    await sleep(100);
  }
  let calls = 0;
  const client = new GlobusClient({ authUrl: base, transferUrl: `${base}/v0.10`, clientId: CLIENT_ID, clientSecret: SECRET, rateLimitPerSec: 0, onCall: () => calls++ });
  await client.submissionId(); // token fetched outside the timings

  const runTasks = async (docs, pollMs) => {
    const started = performance.now();
    const ids = [];
    for (const d of docs) ids.push((await client.submitTransfer(d)).taskId);
    for (;;) {
      const rows = await client.tasksById(ids, ['status']);
      const bad = rows.find((r) => r.status === 'FAILED');
      if (bad) throw new Error(`task ${bad.task_id} FAILED`);
      if (rows.length === ids.length && rows.every((r) => r.status === 'SUCCEEDED')) break;
      await sleep(pollMs);
    }
    return { seconds: (performance.now() - started) / 1000, ids };
  };

  // Small files.
  const smallDocs = Array.from({ length: TASKS }, (_, t) => ({
    source_endpoint: SRC, destination_endpoint: DST, label: `bench-small-${t}`, verify_checksum: true,
    DATA: Array.from({ length: FILES_PER_TASK }, (_, f) => ({ DATA_TYPE: 'transfer_item', source_path: `/small/t${t}/f${f}.bin`, destination_path: `/small/t${t}/f${f}.bin`, recursive: false })),
  }));
  const callsBefore = calls;
  await settle();
  const small = await runTasks(smallDocs, 50);
  const smallCalls = calls - callsBefore;
  const files = (await client.tasksById(small.ids, ['files_transferred'])).reduce((n, r) => n + r.files_transferred, 0);
  if (files !== TASKS * FILES_PER_TASK) throw new Error(`expected ${TASKS * FILES_PER_TASK} files, got ${files}`);

  // Large files: simulator vs cp, alternating rounds.
  const largeBytes = LARGE_FILES * LARGE_MB * 1024 * 1024;
  const sim = [];
  const cp = [];
  const simChecksum = [];
  // Round 0 is a warm-up (first touches of the destination directories) and is not recorded.
  for (let r = -1; r < ROUNDS; r++) {
    const keep = r >= 0;
    await rm(join(dstRoot, 'large'), { recursive: true, force: true });
    await settle();
    const doc = (verify) => ({ source_endpoint: SRC, destination_endpoint: DST, verify_checksum: verify, DATA: [{ DATA_TYPE: 'transfer_item', source_path: '/large/', destination_path: '/large/', recursive: true }] });
    const simRate = largeBytes / (await runTasks([doc(false)], 10)).seconds;
    if (keep) sim.push(simRate);
    await rm(join(dstRoot, 'large'), { recursive: true, force: true });

    const cpDst = join(dir, 'cp-large');
    await rm(cpDst, { recursive: true, force: true });
    await settle();
    const t0 = performance.now();
    const res = spawnSync('cp', ['-r', join(srcRoot, 'large'), cpDst]);
    if (res.status !== 0) throw new Error(`cp failed: ${res.stderr}`);
    const cpRate = largeBytes / ((performance.now() - t0) / 1000);
    if (keep) cp.push(cpRate);
    await rm(cpDst, { recursive: true, force: true });
    if (keep && r < CHECKSUM_ROUNDS) {
      // MD5 runs on the simulator's one JS thread (source while copying, destination read back): CPU-bound.
      await settle();
      simChecksum.push(largeBytes / (await runTasks([doc(true)], 10)).seconds);
    }
    await rm(join(dstRoot, 'large'), { recursive: true, force: true });
  }
  const simBps = median(sim);
  const cpBps = median(cp);
  process.stdout.write(`${JSON.stringify({
    bench: 'globus-sim',
    tasks: TASKS,
    files_per_task: FILES_PER_TASK,
    small_file_bytes: SMALL_BYTES,
    small_seconds: Number(small.seconds.toFixed(3)),
    tasks_per_sec: Number((TASKS / small.seconds).toFixed(2)),
    files_per_sec: Math.round((TASKS * FILES_PER_TASK) / small.seconds),
    api_calls_small_phase: smallCalls,
    large_files: LARGE_FILES,
    large_file_mb: LARGE_MB,
    rounds: ROUNDS,
    sim_bytes_per_sec: Math.round(simBps),
    cp_bytes_per_sec: Math.round(cpBps),
    ratio_to_cp: Number((simBps / cpBps).toFixed(3)),
    ratio_to_cp_paired_median: Number(median(sim.map((x, i) => x / cp[i])).toFixed(3)),
    sim_checksum_bytes_per_sec: Math.round(median(simChecksum)),
    samples: { sim: sim.map(Math.round), cp: cp.map(Math.round), sim_checksum: simChecksum.map(Math.round) },
  })}\n`);
} finally {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}
