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
    lineage = createPool({ url: db.url, max: 1, statementTimeoutMs: 10_000, connectTimeoutMs: 1_000, genericPlans: true }, testLogger());
    await pool.query(
      `INSERT INTO file_versions (site, upload_id, path, first_seen, state, state_rank, state_at, task_id)
       VALUES ('ua-mac', 'xferlog:abc:1', '/gantry_data/a.bin', now(), 'uploaded', 1, now(), 'task-1')`,
    );
  });
  afterAll(async () => {
    await lineage.end();
  });

  it('are planned once per connection: generic plans from the first call (on a big log the planner alone keeps re-planning the events statement, ~8 ms a call over 33 partitions)', async () => {
    for (let i = 0; i < 3; i++) expect((await lineageByPath(lineage, '/gantry_data/a.bin')).versions).toHaveLength(1);
    const prepared = await lineage.query<{ name: string; generic_plans: string; custom_plans: string }>(
      `SELECT name, generic_plans::text, custom_plans::text FROM pg_prepared_statements WHERE name LIKE 'lineage-%' ORDER BY name`,
    );
    expect(prepared.rows).toEqual([
      { name: 'lineage-events', generic_plans: '3', custom_plans: '0' },
      { name: 'lineage-versions', generic_plans: '3', custom_plans: '0' },
    ]);
  });
});
