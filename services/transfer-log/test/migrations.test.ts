import pg from 'pg';
import { testLogger } from '@terra-transfer/testkit';
import { migrate } from '../src/adapters/db.js';
import { freshDatabase } from './harness.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function tables(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'pgmigrations' AND tablename !~ '^events_p' ORDER BY 1`);
    return r.rows.map((x) => x.t);
  } finally {
    await c.end();
  }
}

const ALL = ['1767225600000_transfer-log', '1796515200000_events-by-task'];

async function indexes(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ i: string }>(`SELECT indexname AS i FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events' ORDER BY 1`);
    return r.rows.map((x) => x.i);
  } finally {
    await c.end();
  }
}

it('migrates up, down and up again, and a second up is a no-op', async () => {
  const logger = testLogger();
  expect(await migrate(db.url, logger)).toEqual(ALL);
  expect(await tables(db.url)).toEqual(['events', 'events_default', 'failures', 'file_versions', 'volumes_daily']);
  expect(await indexes(db.url)).toEqual(expect.arrayContaining(['events_task']));
  expect(await indexes(db.url)).not.toContain('events_task_submitted');
  // Down one step at a time: the index of contract version 2's chunks first, then the schema.
  expect(await migrate(db.url, logger, 'down', 1)).toEqual(['1796515200000_events-by-task']);
  expect(await indexes(db.url)).toEqual(expect.arrayContaining(['events_task_submitted']));
  expect(await indexes(db.url)).not.toContain('events_task');
  expect(await migrate(db.url, logger, 'down', 1)).toEqual(['1767225600000_transfer-log']);
  expect(await tables(db.url)).toEqual([]);
  expect(await migrate(db.url, logger)).toEqual(ALL);
  expect(await tables(db.url)).toEqual(['events', 'events_default', 'failures', 'file_versions', 'volumes_daily']);
  expect(await migrate(db.url, logger)).toEqual([]);
});

it('two starts at once: one migrates, the other waits for its lock and finds nothing to do', async () => {
  const other = await freshDatabase();
  try {
    const runs = await Promise.all([migrate(other.url, testLogger()), migrate(other.url, testLogger())]);
    expect(runs.flat()).toEqual(ALL);
  } finally {
    await other.drop();
  }
});
