import pg from 'pg';
import { testLogger } from '@terra-transfer/testkit';
import { createPool, migrate, type Pool } from '../src/adapters/db.js';
import { lineageByPath } from '../src/adapters/queries.js';
import { freshDatabase, PG_ADMIN_URL } from './harness.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let pool: Pool;
beforeAll(async () => {
  db = await freshDatabase();
  await migrate(db.url, testLogger());
  // What a log of millions of events does to the planner's estimates (bench-transfer-log, 3 M events): every plan costs more than jit_above_cost.
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${db.name} SET jit_above_cost = 0`);
    // A parallel plan wherever one is allowed (the bench's log of 300,000 events got one for the events lookup by
    // itself; a test database is too small for that). PostgreSQL 16 renamed the setting.
    const version = Number((await admin.query<{ v: string }>('SHOW server_version_num')).rows[0]!.v);
    await admin.query(`ALTER DATABASE ${db.name} SET ${version >= 160000 ? 'debug_parallel_query' : 'force_parallel_mode'} = on`);
  } finally {
    await admin.end();
  }
  pool = createPool({ url: db.url, max: 2, statementTimeoutMs: 10_000, connectTimeoutMs: 1_000 }, testLogger());
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

it('a lookup by upload id is never JIT-compiled (on a big log that took ~900 ms per lookup for ~1 ms of work)', async () => {
  const res = await pool.query<{ 'QUERY PLAN': Array<Record<string, unknown>> }>(
    `EXPLAIN (ANALYZE, FORMAT JSON) SELECT event_id, body->'data' FROM events WHERE upload_id = ANY($1::text[])`,
    [['xferlog:abc:1']],
  );
  const plan = res.rows[0]!['QUERY PLAN'][0]!;
  expect(plan['JIT']).toBeUndefined();
});

describe('path lookups on the lineage pool', () => {
  let lineage: Pool;
  beforeAll(async () => {
    // One connection, so the statements prepared by the lookups are the ones pg_prepared_statements shows.
    lineage = createPool({ url: db.url, max: 1, statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, genericPlans: true, serialPlans: true }, testLogger());
    await pool.query(
      `INSERT INTO file_versions (site, upload_id, path, first_seen, state, state_rank, state_at, task_id)
       VALUES ('ua-mac', 'xferlog:abc:1', '/gantry_data/a.bin', now(), 'uploaded', 1, now(), 'task-1')`,
    );
  });
  afterAll(async () => {
    await lineage.end();
  });

  it('are one statement, planned once per connection: generic plans from the first call (on a big log the planner alone kept re-planning the events lookup, ~8 ms a call over 33 partitions)', async () => {
    for (let i = 0; i < 3; i++) expect((await lineageByPath(lineage, '/gantry_data/a.bin')).versions).toHaveLength(1);
    const prepared = await lineage.query<{ name: string; generic_plans: string; custom_plans: string }>(
      `SELECT name, generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE name LIKE 'lineage%' ORDER BY name`,
    );
    expect(prepared.rows).toEqual([{ name: 'lineage', generic_plans: '3', custom_plans: '0' }]);
  });

  it('never launch parallel workers (on the loaded bench machine the Gather Merge of the events lookup cost 30–80 ms a call, 0.2–5 ms serial)', async () => {
    const sql = `EXPLAIN (FORMAT JSON) SELECT event_id, event_time, body->'data' FROM events WHERE upload_id = ANY($1::text[])
                 UNION ALL SELECT event_id, event_time, NULL FROM events WHERE type = 'task.submitted' AND task_id = ANY($2::text[]) ORDER BY 2, 1`;
    const params = [['xferlog:abc:1'], ['task-1']];
    const gathers = (plan: unknown) => JSON.stringify(plan).match(/"Node Type":"Gather[^"]*"/g) ?? [];
    // Control: a session like the read pool's plans the same statement in parallel here, so the check below can fail.
    const generic = createPool({ url: db.url, max: 1, statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, genericPlans: true }, testLogger());
    try {
      expect(gathers((await generic.query(sql, params)).rows[0])).not.toEqual([]);
    } finally {
      await generic.end();
    }
    expect(gathers((await lineage.query(sql, params)).rows[0])).toEqual([]);
  });
});
