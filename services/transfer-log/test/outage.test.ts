import pg from 'pg';
import { AMQP_URL, freePort, queueDepth, waitFor } from '@terra-transfer/testkit';
import { freshDatabase, lifeOf, pgRelay, startHarness, type Harness } from './harness.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let h: Harness | undefined;
let relay: ReturnType<typeof pgRelay>;
beforeAll(async () => {
  db = await freshDatabase();
  relay = pgRelay(await freePort());
});
afterAll(async () => {
  await relay.down();
  await h?.close();
  await db.drop();
});

async function recorded(eventId: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM events WHERE event_id = $1', [eventId])).rowCount === 1;
  } finally {
    await c.end();
  }
}

it('PostgreSQL down: not ready, nothing acked or dead-lettered, the status says behind; it resumes on its own when PostgreSQL is back', async () => {
  await relay.up();
  h = await startHarness(db.url, { OUTAGE_HOLD_MS: '500' }, { poolUrl: relay.url(db.name) });
  const queue = h.amqp.topology.queue('transferLog');
  await h.amqp.publish(lifeOf(1).uploaded);
  await waitFor('first event recorded', () => recorded('up-1'));
  expect((await h.get('/readyz')).status).toBe(200);

  await relay.down();
  const notReady = await h.get('/readyz');
  expect(notReady.status).toBe(503);
  expect(notReady.body.checks).toMatchObject({ broker: true, postgres: false });
  await h.amqp.publish(lifeOf(2).uploaded);
  // The batch fails, the consumer finds PostgreSQL unreachable, holds the delivery and gives it back (uncounted) after the hold.
  await waitFor('the write failure seen', async () => (await h!.metric('terra_transfer_log_write_failures_total', { code: 'POSTGRES_UNAVAILABLE' })) >= 1);
  await waitFor('the event given back', async () => (await h!.metric('terra_transfer_messages_consumed_total', { queue, outcome: 'given_back' })) >= 1);
  const status = await h.get('/api/v1/status');
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ postgres: false, behind: true, sites: [] });
  expect((await h.get('/api/v1/files?path=/cache/x')).status).toBe(503);
  expect(await recorded('up-2')).toBe(false);

  await relay.up();
  await waitFor('the waiting event recorded', () => recorded('up-2'), 40_000);
  await waitFor('queue drained', async () => (await queueDepth(AMQP_URL, queue)) === 0);
  expect(await queueDepth(AMQP_URL, h.amqp.topology.deadLetterQueue('transferLog'))).toBe(0);
  expect((await h.get('/readyz')).status).toBe(200);
  expect((await h.get('/api/v1/status')).body).toMatchObject({ postgres: true, behind: false });
});

it('READ_TOKEN set: the read endpoints need it; health and metrics stay open', async () => {
  const t = await startHarness(db.url, { READ_TOKEN: 'read-secret' }, { start: false });
  try {
    expect((await t.get('/api/v1/status')).status).toBe(401);
    expect((await t.get('/api/v1/volumes', { authorization: 'Bearer wrong-secret' })).status).toBe(401);
    expect((await t.get('/api/v1/status', { authorization: 'Bearer read-secret' })).status).toBe(200);
    expect((await t.get('/healthz')).status).toBe(200);
    expect((await t.get('/metrics')).status).toBe(200);
  } finally {
    await t.close();
  }
});
