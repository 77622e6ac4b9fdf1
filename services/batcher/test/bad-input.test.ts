import { AMQP_URL, queueDepth, waitFor } from '@terra-transfer/testkit';
import { failWith, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const ADMIN = 'bad-input-admin-token';

async function fault(pl: Pipeline, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${pl.ports.sim}/admin/faults`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect([200, 201]).toContain(res.status);
}

/** Every file of `events` arrives once (file.transferred at least once each, one Globus copy each). */
async function allArrive(pl: Pipeline, n: number) {
  await waitFor(`${n} file.transferred`, async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= n, 80_000).catch(failWith(pl));
  const transferred = await pl.drain('cleanerTransfers');
  expect(new Set(transferred.map((t) => t.body.data.path)).size).toBe(n);
  const tasks = await pl.tasks();
  expect(tasks.reduce((s, t) => s + (t.files_transferred ?? 0), 0)).toBe(n);
  expect(await pl.drain('failedFiles')).toHaveLength(0);
}

const calls = async (pl: Pipeline, filter = '') => (await pl.metric('batcher', `terra_transfer_globus_calls_total${filter}`)) + (await pl.metric('watcher', `terra_transfer_globus_calls_total${filter}`));

/** Attempts retried (401 renewals here: no other fault is injected) on every Transfer endpoint. */
async function retriesOutsideToken(pl: Pipeline, service: 'batcher' | 'watcher') {
  const text = await (await fetch(`http://127.0.0.1:${pl.ports[service]}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('terra_transfer_globus_calls_total{') && l.includes('outcome="retry"') && !l.includes('endpoint="token"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Globus misbehaving: each case handled as documented (docs/globus.md), counted, never in a hot loop. */
describe('bad input from Globus', () => {
  it('a 429 storm: both services wait as told (Retry-After), count the 429s, and every file arrives once', async () => {
    p = await startPipeline({ sim: { GLOBUS_SIM_ADMIN_TOKEN: ADMIN } });
    const pl = p;
    // The next 15 Transfer API requests of anybody are refused with 429, Retry-After 1.
    await fault(pl, { kind: '429', count: 15, retryAfter: 1, endpoints: ['submission_id', 'transfer', 'task', 'task_list', 'successful_transfers', 'skipped_errors', 'event_list', 'cancel'] });
    const events = await Promise.all(Array.from({ length: 10 }, (_, i) => pl.upload(i)));
    for (const e of events) await pl.amqp.publish(e);
    await allArrive(pl, 10);
    const limited = (await pl.metric('batcher', 'terra_transfer_globus_rate_limited_total')) + (await pl.metric('watcher', 'terra_transfer_globus_rate_limited_total'));
    expect(limited).toBeGreaterThanOrEqual(1);
    expect(limited).toBeLessThanOrEqual(15);
    // No hot loop: 15 refusals and a dozen useful calls, not thousands of attempts.
    expect(await calls(pl)).toBeLessThan(250);
  }, 120_000);

  it('a 502 ExternalError on submission: not retried by the client, the batch waits with a slow backoff (counted by code), then goes', async () => {
    p = await startPipeline({ sim: { GLOBUS_SIM_ADMIN_TOKEN: ADMIN } });
    const pl = p;
    await fault(pl, { kind: '502-external', count: 2, endpoints: ['transfer'] });
    const events = await Promise.all(Array.from({ length: 10 }, (_, i) => pl.upload(i)));
    for (const e of events) await pl.amqp.publish(e);
    await allArrive(pl, 10);
    // Each refusal was one HTTP attempt given up at once (the SDK's rule), and one slow retry of the batch.
    expect(await pl.metric('batcher', 'terra_transfer_globus_calls_total{endpoint="transfer",outcome="error"}')).toBe(2);
    expect(await pl.metric('batcher', 'terra_transfer_globus_calls_total{endpoint="transfer",outcome="retry"}')).toBe(0);
    expect(await pl.metric('batcher', 'terra_transfer_batch_submit_retries_total{code="GLOBUS_ENDPOINT_ERROR"}')).toBe(2);
  }, 120_000);

  it('a token revoked mid-run: the services get a new one (once per refusal) and go on', async () => {
    // Slow copies keep the task active while its token is revoked.
    p = await startPipeline({ sim: { GLOBUS_SIM_ADMIN_TOKEN: ADMIN, GLOBUS_SIM_BANDWIDTH_BYTES_PER_SEC: String(200 * 1024) } });
    const pl = p;
    const events = await Promise.all(Array.from({ length: 10 }, (_, i) => pl.upload(i, { bytes: 50 * 1024 })));
    for (const e of events) await pl.amqp.publish(e);
    await waitFor('a task being watched', async () => {
      const r = (await (await fetch(`http://127.0.0.1:${pl.ports.watcher}/api/v1/tasks?status=watching`)).json()) as { total: number };
      return r.total >= 1;
    }, 30_000).catch(failWith(pl));
    const tokensBefore = await pl.metric('watcher', 'terra_transfer_globus_calls_total{endpoint="token",outcome="ok"}');
    await fault(pl, { kind: 'expire-tokens' });
    await allArrive(pl, 10);
    expect(await pl.metric('watcher', 'terra_transfer_globus_calls_total{endpoint="token",outcome="ok"}')).toBeGreaterThan(tokensBefore);
    // One 401 per token seen, each answered by one renewal: not a loop. Whichever call met the revoked token first
    // (the task list, a task's details, its successful transfers: that depends on where the services were) counts it.
    const refused = (await retriesOutsideToken(pl, 'batcher')) + (await retriesOutsideToken(pl, 'watcher'));
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(4);
    expect(await pl.metric('watcher', 'terra_transfer_globus_auth_refused_total')).toBe(0);
  }, 120_000);
});
