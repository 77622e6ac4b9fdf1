/**
 * terra_transfer_ledger_files{site,state}: the site's ledger records by state, counted from Redis by
 * the cleaner's census and scraped from /metrics; and counters that never happened read 0.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { FILE_STATES } from '@terra-transfer/ledger';
import { waitFor } from '@terra-transfer/testkit';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ LEDGER_CENSUS_INTERVAL_SECONDS: '1' });
});
afterAll(async () => {
  await h?.close();
});

const scrape = async () => {
  const res = await h.cleaner.http.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
};
/** The value of one series in the exposition text, undefined when it is absent. */
const series = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

it('counts the records of the site by state, from the ledger in Redis', async () => {
  // The first census (started with the service, not awaited) of an empty ledger: every state has its series, at 0.
  // Before it the gauge has no series: a backlog not yet counted is unknown, not 0.
  await waitFor('the first census', async () => {
    const text = await scrape();
    return FILE_STATES.every((state) => series(text, 'terra_transfer_ledger_files', { site: 'ua-mac', state }) === 0);
  }, 30_000);

  const file = (n: number, site = 'ua-mac') => ({ path: `${h.root}/uploads/f${n}.bin`, size: 10 + n, mtimeMs: 1_700_000_000_000 + n, uploadId: `u${n}`, attempt: 1, site, sensor: 'stereoTop' });
  for (const n of [1, 2, 3, 4]) await h.ledger.notePending(file(n));
  await h.ledger.notePending(file(5, 'ksu')); // another site's record, in the same prefix: not this site's backlog
  await h.ledger.claim('batch-1', [file(3), file(4)]);
  await h.ledger.markInFlight([file(4).path], 'batch-1', 'task-1');
  // What the records say, read one by one: the census must agree.
  const states = await Promise.all([1, 2, 3, 4].map(async (n) => (await h.ledger.get(file(n).path))!.state));
  const expected = Object.fromEntries(FILE_STATES.map((s) => [s, states.filter((x) => x === s).length]));
  expect(expected).toMatchObject({ pending: 2, batched: 1, in_flight: 1 });

  await waitFor('the census to count the new records', async () => {
    const text = await scrape();
    return FILE_STATES.every((state) => series(text, 'terra_transfer_ledger_files', { site: 'ua-mac', state }) === expected[state]);
  }, 30_000);
  expect(series(await scrape(), 'terra_transfer_ledger_census_timestamp_seconds', { site: 'ua-mac' })).toBeGreaterThan(Date.now() / 1000 - 60);
});

it('has a 0 series for every closed-set label value that has not happened yet', async () => {
  const text = await scrape();
  expect(series(text, 'terra_transfer_cleaner_deletions_total', { outcome: 'refused_checksum_mismatch' })).toBe(0);
  expect(series(text, 'terra_transfer_cleaner_give_ups_total', { reason: 'QUOTA_EXCEEDED' })).toBe(0);
  expect(series(text, 'terra_transfer_cleaner_failures_total', { outcome: 'not_live' })).toBe(0);
  expect(series(text, 'terra_transfer_sweep_files_total', { verdict: 'sent_no_record' })).toBe(0);
  expect(series(text, 'terra_transfer_cleaner_submissions_total', { site: 'ua-mac', outcome: 'NOT_WHITELISTED' })).toBe(0);
  expect(series(text, 'terra_transfer_ledger_census_errors_total', { site: 'ua-mac' })).toBe(0);
});
