/**
 * What PostgreSQL does while `make bench-transfer-log` loads: run beside it
 * (`node services/transfer-log/dist-bench/bench/pg-activity.js [seconds]`).
 * It finds the bench's database (terra_tlog_bench_*), then for `seconds`
 * (default 60) samples pg_stat_activity every 100 ms: each of the service's
 * sessions by pool (application_name), state and wait event, and the lock
 * requests not granted. Every 10 s it runs the lineage lookup of a random
 * loaded path as the service does (generic plans, jit off) under
 * EXPLAIN (ANALYZE, BUFFERS) and keeps the times and buffers. Prints one JSON line.
 */
import pg from 'pg';

const SECONDS = Number(process.argv[2] ?? 60);
const ADMIN_URL = process.env['BENCH_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PlanNode {
  'Actual Total Time'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
}
interface Explained {
  Plan: PlanNode;
  'Planning Time': number;
  'Execution Time': number;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  let db: string | undefined;
  for (let i = 0; i < 600 && !db; i++) {
    db = (await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'terra\\_tlog\\_bench\\_%' ORDER BY oid DESC LIMIT 1`)).rows[0]?.datname;
    if (!db) await sleep(500);
  }
  if (!db) throw new Error('no bench database (terra_tlog_bench_*) appeared');
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  const lookup = new pg.Client({ connectionString: url.toString(), options: '-c jit=off -c plan_cache_mode=force_generic_plan' });
  await lookup.connect();

  const states = new Map<string, number>();
  let samples = 0;
  let lockWaitSamples = 0;
  let lockWaitsMax = 0;
  const explains: Array<{ versions_ms: number; events_ms: number; events_planning_ms: number; events_shared_hit: number; events_shared_read: number }> = [];
  const t0 = Date.now();
  let nextExplain = t0 + 5_000;
  while (Date.now() - t0 < SECONDS * 1000) {
    const act = await admin.query<{ app: string; state: string; wait: string | null }>(
      `SELECT application_name AS app, state, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      [db],
    );
    samples++;
    for (const r of act.rows) {
      const k = `${r.app || '?'} | ${r.state} | ${r.wait ?? 'cpu'}`;
      states.set(k, (states.get(k) ?? 0) + 1);
    }
    const locks = Number((await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE NOT l.granted AND d.datname = $1`, [db])).rows[0]!.n);
    if (locks > 0) lockWaitSamples++;
    lockWaitsMax = Math.max(lockWaitsMax, locks);
    if (Date.now() >= nextExplain) {
      nextExplain += 10_000;
      const v = (await lookup.query<{ path: string }>(`SELECT path FROM file_versions TABLESAMPLE SYSTEM (1) LIMIT 1`)).rows[0];
      if (v) {
        const ex1 = (await lookup.query<{ 'QUERY PLAN': Explained[] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT upload_id, task_id FROM file_versions WHERE path = $1 ORDER BY first_seen DESC, upload_id LIMIT 100`, [v.path])).rows[0]!['QUERY PLAN'][0]!;
        const ids = await lookup.query<{ upload_id: string; task_id: string | null }>(`SELECT upload_id, task_id FROM file_versions WHERE path = $1`, [v.path]);
        const ex2 = (await lookup.query<{ 'QUERY PLAN': Explained[] }>(
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT event_id, event_time, type, body->'data' FROM events WHERE upload_id = ANY($1::text[])
           UNION ALL SELECT event_id, event_time, type, NULL FROM events WHERE type = 'task.submitted' AND task_id = ANY($2::text[]) ORDER BY 2, 1`,
          [ids.rows.map((r) => r.upload_id), ids.rows.flatMap((r) => (r.task_id ? [r.task_id] : []))],
        )).rows[0]!['QUERY PLAN'][0]!;
        explains.push({
          versions_ms: Number((ex1['Planning Time'] + ex1['Execution Time']).toFixed(2)),
          events_ms: Number(ex2['Execution Time'].toFixed(2)),
          events_planning_ms: Number(ex2['Planning Time'].toFixed(2)),
          events_shared_hit: ex2.Plan['Shared Hit Blocks'] ?? 0,
          events_shared_read: ex2.Plan['Shared Read Blocks'] ?? 0,
        });
      }
    }
    await sleep(100);
  }
  await lookup.end();
  await admin.end();
  const share = Object.fromEntries([...states].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, Number((n / samples).toFixed(2))]));
  process.stdout.write(`${JSON.stringify({ db, seconds: SECONDS, samples, sessions_by_state_mean: share, lock_wait_samples: lockWaitSamples, lock_waits_max: lockWaitsMax, lineage_explain: explains })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
