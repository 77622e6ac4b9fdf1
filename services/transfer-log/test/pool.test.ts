import pg from 'pg';
import { testLogger } from '@terra-transfer/testkit';
import { createPool, migrate, type Pool } from '../src/adapters/db.js';
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
