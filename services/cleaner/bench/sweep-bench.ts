/**
 * make bench-sweep: builds (or reuses) a tree of BENCH_FILES files in the
 * sensor layout under /tmp, gives part of the old files a ledger record, then
 * times GNU `find <root> -type f -mmin +2880` and one sweep (a child process,
 * publishing to a throwaway prefix on the real broker) on the same tree, and
 * prints one JSON line. Progress goes to stderr. The sweep walks with find,
 * as the service does; the target is ratio_to_find ≤ 2.0 and RSS < 200 MB.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deleteKeys, deleteTopology, uniquePrefix } from '@terra-transfer/testkit';

const N = Number(process.env['BENCH_FILES'] ?? 1_000_000);
const OLD_PCT = Number(process.env['BENCH_OLD_PERCENT'] ?? 25);
const RECORD_PCT = Number(process.env['BENCH_RECORD_PERCENT_OF_OLD'] ?? 80);
const BASE = process.env['BENCH_DIR'] ?? '/tmp/terra-bench-sweep';
const ROOT = join(BASE, 'cache');
const MANIFEST = join(BASE, 'manifest.json');
const WHITELIST = ['MovingSensor/stereoTop', 'MovingSensor/flirIrCamera', 'LemnaTec/EnvironmentLogger'];
const DAY_S = 86_400;
const log = (msg: string) => process.stderr.write(`[bench-sweep] ${msg}\n`);

interface Manifest {
  files: number;
  oldPercent: number;
  builtAt: number;
  oldFiles: number;
}

/** Deterministic pseudo-random in [0,100) per directory index. */
const pct = (k: number) => ((k * 2654435761) >>> 0) % 100;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * The tree: stereoTop timestamp folders of 3 files, flirIrCamera folders of 2,
 * EnvironmentLogger flat date folders; each folder is "old" (3–13 days) with
 * OLD_PCT % probability, otherwise at most 12 h old. mtimes are whole seconds.
 * Calls `each(absPath, mtimeSeconds)` for every file.
 */
function layout(each: (dir: string, names: string[], mtimeS: number, k: number) => void, now: number): void {
  let made = 0;
  let k = 0;
  const date = (daysAgo: number) => new Date((now - daysAgo * DAY_S) * 1000).toISOString().slice(0, 10);
  const mtimeFor = (k: number) => {
    const old = pct(k) < OLD_PCT;
    const ageS = old ? (3 + (k % 11)) * DAY_S + (k % 3600) : (k % 43_000);
    return { mtimeS: now - ageS, daysAgo: Math.floor(ageS / DAY_S) };
  };
  const stereo = Math.floor(N * 0.5);
  const flir = Math.floor(N * 0.3);
  for (let i = 0; made < stereo; i++, k++) {
    const { mtimeS, daysAgo } = mtimeFor(k);
    const d = date(daysAgo);
    const names = ['left.bin', 'right.bin', 'metadata.json'].slice(0, Math.min(3, stereo - made));
    each(`MovingSensor/stereoTop/${d}/${d}__${pad(i % 24)}-${pad(Math.floor(i / 24) % 60)}-${pad(Math.floor(i / 1440) % 60)}-${pad(i % 1000, 3)}-${i}`, names, mtimeS, k);
    made += names.length;
  }
  for (let i = 0; made < stereo + flir; i++, k++) {
    const { mtimeS, daysAgo } = mtimeFor(k);
    const d = date(daysAgo);
    const names = ['ir.bin', 'metadata.json'].slice(0, Math.min(2, stereo + flir - made));
    each(`MovingSensor/flirIrCamera/${d}/${d}__${pad(i % 24)}-${pad(Math.floor(i / 24) % 60)}-00-000-${i}`, names, mtimeS, k);
    made += names.length;
  }
  // EnvironmentLogger: one file per "minute", grouped 100 per (date, k) chunk so ages vary.
  for (let i = 0; made < N; i += 100, k++) {
    const { mtimeS, daysAgo } = mtimeFor(k);
    const d = date(daysAgo);
    const names: string[] = [];
    for (let j = 0; j < 100 && made < N; j++, made++) names.push(`${d}_${pad(Math.floor((i + j) / 60) % 24)}-${pad((i + j) % 60)}-${pad(j % 60)}_${i + j}_environmentlogger.json`);
    each(`LemnaTec/EnvironmentLogger/${d}`, names, mtimeS, k);
  }
}

function buildTree(now: number): Manifest {
  log(`building ${N} files under ${ROOT} (reused on later runs within 24 h)`);
  rmSync(BASE, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  let oldFiles = 0;
  let count = 0;
  const t0 = Date.now();
  const madeDirs = new Set<string>();
  layout((dir, names, mtimeS) => {
    const abs = join(ROOT, dir);
    if (!madeDirs.has(dir)) {
      mkdirSync(abs, { recursive: true });
      madeDirs.add(dir);
    }
    for (const n of names) {
      const p = `${abs}/${n}`;
      closeSync(openSync(p, 'w'));
      utimesSync(p, mtimeS, mtimeS);
      if (now - mtimeS > 2 * DAY_S) oldFiles++;
      if (++count % 200_000 === 0) log(`  ${count} files (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  }, now);
  const m = { files: N, oldPercent: OLD_PCT, builtAt: now, oldFiles };
  writeFileSync(MANIFEST, JSON.stringify(m));
  log(`built in ${Math.round((Date.now() - t0) / 1000)} s`);
  return m;
}

function loadOrBuild(): Manifest {
  const now = Math.floor(Date.now() / 1000);
  if (existsSync(MANIFEST)) {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
    // Young files are at most 12 h old when built: reusable while they stay well under 2 days.
    if (m.files === N && m.oldPercent === OLD_PCT && now - m.builtAt < DAY_S) {
      log(`reusing the tree built ${Math.round((now - m.builtAt) / 60)} min ago`);
      return m;
    }
  }
  return buildTree(now);
}

/** Ledger records for RECORD_PCT % of the old files' folders (in flight, transferred, recently pending), raw HSETs in pipelines. */
async function seedLedger(redis: Redis, prefix: string, m: Manifest): Promise<number> {
  let pipe = redis.pipeline();
  let n = 0;
  const states = ['in_flight', 'transferred', 'pending'] as const;
  const nowMs = Date.now();
  const pending: Array<Promise<unknown>> = [];
  layout((dir, names, mtimeS, k) => {
    if (pct(k) >= OLD_PCT || (k * 7919) % 100 >= RECORD_PCT) return;
    const state = states[k % 3]!;
    for (const name of names) {
      const path = `${ROOT}/${dir}/${name}`;
      pipe.hset(`${prefix}:file:${path}`, { state, size: 0, mtimeMs: mtimeS * 1000, uploadId: `xferlog:bench:${n}`, attempt: 1, site: 'ua-mac', sensor: 'bench', batchId: '', taskId: '', checksum: '', reason: '', updatedAt: nowMs });
      if (++n % 5000 === 0) {
        pending.push(pipe.exec());
        pipe = redis.pipeline();
      }
    }
  }, m.builtAt);
  pending.push(pipe.exec());
  await Promise.all(pending);
  return n;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; stdout: string; lines: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    let tail = '';
    child.stdout.on('data', (b: Buffer) => {
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
      tail = (tail + b.toString()).slice(-100_000);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited with ${code}`));
      else resolve({ seconds, stdout: tail, lines });
    });
  });
}

const m = loadOrBuild();
const prefix = uniquePrefix('bench-sweep');
const redis = new Redis(process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
try {
  const t0 = Date.now();
  const records = await seedLedger(redis, prefix, m);
  log(`seeded ${records} ledger records in ${Date.now() - t0} ms`);

  log('warming the page cache with one untimed find');
  await run('find', [ROOT, '-type', 'f', '-mmin', '+2880']);
  const find = await run('find', [ROOT, '-type', 'f', '-mmin', '+2880']);
  log(`find: ${find.seconds.toFixed(2)} s, ${find.lines} files`);

  const here = dirname(fileURLToPath(import.meta.url));
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const sweep = await run(process.execPath, [...nodeArgs, join(here, 'sweep-run.js')], {
    ...process.env,
    BENCH_ROOT: ROOT,
    BENCH_PREFIX: prefix,
    BENCH_WHITELIST: WHITELIST.join(','),
  });
  const s = JSON.parse(sweep.stdout.trim().split('\n').pop()!) as { seconds: number; state: string; error: string | null; counts: Record<string, number>; peak_rss_mb: number; sampled_peak_rss_mb: number; rss_before_sweep_mb: number; cpu_seconds: Record<string, number>; walker: string; walk_cpu_seconds: number };
  log(`sweep: ${s.seconds.toFixed(2)} s, ${JSON.stringify(s.counts)}`);
  if (s.state !== 'succeeded') throw new Error(`sweep failed: ${s.error}`);
  // The sweep's old files must be exactly what find counts.
  if (s.counts['old'] !== find.lines) throw new Error(`sweep saw ${s.counts['old']} old files, find ${find.lines}`);

  process.stdout.write(`${JSON.stringify({
    walker: s.walker,
    files: s.counts['scanned'],
    old_files: find.lines,
    ledger_records: records,
    sent: s.counts['sent'],
    sweep_seconds: Math.round(s.seconds * 1000) / 1000,
    find_seconds: Math.round(find.seconds * 1000) / 1000,
    ratio_to_find: Math.round((s.seconds / find.seconds) * 100) / 100,
    peak_rss_mb: s.peak_rss_mb,
    rss_before_sweep_mb: s.rss_before_sweep_mb,
    files_per_second: Math.round(s.counts['scanned']! / s.seconds),
    cpu_seconds: { ...s.cpu_seconds, walk: s.walk_cpu_seconds },
  })}\n`);
} finally {
  await deleteTopology(prefix).catch(() => undefined);
  await deleteKeys(prefix).catch(() => undefined);
  redis.disconnect();
}
