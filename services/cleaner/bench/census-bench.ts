/**
 * make bench-census: writes BENCH_RECORDS ledger records (default 200,000; 90 % of this site, in the
 * states a busy site has) under a throwaway prefix of the real Redis, times FileLedger.countByState
 * (the cleaner's census behind terra_transfer_ledger_files) BENCH_RUNS times, deletes the keys and
 * prints one JSON line. Progress goes to stderr. The SCAN walks the whole Redis database, so the
 * figure depends on what else is in it (reported as db_keys).
 */
import { Redis } from 'ioredis';
import { FileLedger } from '@terra-transfer/ledger';
import { REDIS_URL, deleteKeys, uniquePrefix } from '@terra-transfer/testkit';

const N = Number(process.env['BENCH_RECORDS'] ?? 200_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const STATES = ['deleted', 'deleted', 'deleted', 'deleted', 'deleted', 'deleted', 'pending', 'batched', 'in_flight', 'failed'] as const;
const log = (msg: string) => process.stderr.write(`[bench-census] ${msg}\n`);

const redis = new Redis(REDIS_URL);
const prefix = uniquePrefix('census-bench');
try {
  log(`writing ${N} records under ${prefix}`);
  for (let i = 0; i < N; i += 5000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(N, i + 5000); j++) {
      pipe.hset(`${prefix}:file:/cache/ua-mac/f${j}.bin`, { state: STATES[j % STATES.length]!, site: j % 10 === 9 ? 'ksu' : 'ua-mac', size: j, mtimeMs: 1_700_000_000_000 + j });
    }
    await pipe.exec();
  }
  const ledger = new FileLedger(redis, prefix);
  const seconds: number[] = [];
  let counts: Record<string, number> = {};
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    counts = await ledger.countByState('ua-mac');
    seconds.push((performance.now() - t0) / 1000);
    log(`run ${r + 1}: ${seconds[r]!.toFixed(2)} s`);
  }
  const dbKeys = await redis.dbsize();
  process.stdout.write(`${JSON.stringify({ bench: 'ledger-census', records: N, db_keys: dbKeys, runs: RUNS, seconds_min: Math.min(...seconds), seconds_max: Math.max(...seconds), counts })}\n`);
} finally {
  await deleteKeys(prefix);
  redis.disconnect();
}
