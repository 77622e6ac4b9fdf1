import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AMQP_URL, freePort, queueDepth, waitFor } from '@terra-transfer/testkit';
import { freshDatabase, lifeOf, pgRelay, publishAll, startHarness, type Harness } from './harness.js';

/**
 * The status page in Debian's Chromium (playwright-core never downloads a
 * browser): the service on a fresh database and a real broker, events of two
 * sites and three sensors published to it, then the page driven as an
 * operator would. Screenshots go to test-output/transfer-log/.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../../test-output/transfer-log/', import.meta.url));
const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
// A path is whatever bytes a site wrote: this one would run script if the page ever parsed data as HTML.
const HOSTILE_PATH = `/cache/MovingSensor/stereoTop/2026-01-05/<img src=x onerror="document.body.dataset.pwned='1'">&amp;.bin`;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let relay: ReturnType<typeof pgRelay>;
let h: Harness;
let browser: Browser;
let page: Page;
let base: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: run \`make test-tools\` (test/setup/install-chromium.sh installs Debian's chromium). The browser tests never skip.`);
  }
  mkdirSync(OUT, { recursive: true });
  db = await freshDatabase();
  relay = pgRelay(await freePort());
  await relay.up();
  h = await startHarness(db.url, {}, { poolUrl: relay.url(db.name) });
  await h.log.http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.log.http.server.address() as AddressInfo).port}`;

  // ua-mac: one file's whole life, one in a Globus task, one given up, one arrived last week (other sensor);
  // ksu: two arrivals of two sensors, one waiting for its batch; the hostile path's whole life.
  const a1 = lifeOf(1);
  const a2 = lifeOf(2);
  const a3 = lifeOf(3);
  const a4 = lifeOf(4, { sensor: 'flirIrCamera', size: 4_000_000_000, day: day(-7) });
  const k1 = lifeOf(11, { site: 'ksu', sensor: 'scanner3DTop', size: 2_500_000_000 });
  const k2 = lifeOf(12, { site: 'ksu', sensor: 'flirIrCamera', size: 700_000_000 });
  const k3 = lifeOf(13, { site: 'ksu', sensor: 'scanner3DTop' });
  const x = lifeOf(20, { path: HOSTILE_PATH });
  await publishAll(h.amqp, [
    a1.uploaded, a1.submitted, a1.transferred, a1.deleted, a1.ingested, a2.uploaded, a2.submitted, a3.uploaded, a3.submitted, a3.failed,
    a4.uploaded, a4.transferred, k1.uploaded, k1.submitted, k1.transferred, k2.uploaded, k2.transferred, k3.uploaded,
    x.uploaded, x.submitted, x.transferred, x.deleted, x.ingested,
  ]);
  // Two dead letters of the batcher's queue, as a consumer would dead-letter them.
  const t = h.amqp.topology;
  for (const n of [1, 2]) await h.amqp.publishRaw(t.deadLetterExchange, t.queue({ key: 'batcherUploads', site: 'ua-mac' }), Buffer.from(`{"bad":${n}}`));
  await waitFor('23 events recorded', async () => Number((await h.pool.query('SELECT count(*) AS n FROM events')).rows[0].n) === 23);
  await waitFor('queue drained', async () => (await queueDepth(AMQP_URL, t.queue('transferLog'))) === 0);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await relay?.down();
  await h?.close();
  await db?.drop();
});

const shot = (name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
const cell = (site: string, field: string) => page.locator(`#sites tr[data-site="${site}"] td[data-field="${field}"]`).textContent();

it('serves the page and its files with their content types and a self-only Content-Security-Policy', async () => {
  for (const [url, type] of [['/', 'text/html'], ['/status', 'text/html'], ['/assets/status.js', 'text/javascript'], ['/assets/status.css', 'text/css'], ['/assets/chart.umd.min.js', 'text/javascript']] as const) {
    const r = await h.get(url);
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toContain(type);
    expect(r.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  }
  expect((await h.get('/assets/../package.json')).status).toBe(404);
});

it("the status API lists the dead-letter queues' depths and the Globus tasks in flight per site", async () => {
  const s = (await h.get('/api/v1/status')).body;
  expect(s.deadLetters).toEqual(expect.arrayContaining([{ key: 'batcherUploads', site: 'ua-mac', queue: h.amqp.topology.deadLetterQueue({ key: 'batcherUploads', site: 'ua-mac' }), broker: 'both', messages: 2 }]));
  expect(s.deadLetters.find((d: { key: string }) => d.key === 'transferLog')).toMatchObject({ messages: 0 });
  expect(s.deadLetters.some((d: { key: string }) => d.key === 'outcomes')).toBe(false); // taps have no dead-letter queue
  expect(s.globusTasks).toEqual([expect.objectContaining({ taskId: 'task-2', site: 'ua-mac', files: 1, bytes: 1002 })]);
  expect(s.sites.map((x: { site: string; tasksInFlight: number }) => [x.site, x.tasksInFlight])).toEqual([['ksu', 0], ['ua-mac', 1]]);
});

it("loads with the log's data: per-site figures, give-ups, dead letters, tasks in flight; no script errors", async () => {
  await page.goto(`${base}/status`);
  await page.locator('body[data-loaded="true"]').waitFor();
  expect(await page.locator('#health').textContent()).toBe('live');
  expect(await page.locator('#banner').isHidden()).toBe(true);
  expect(await page.locator('#sites tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-site')))).toEqual(['ksu', 'ua-mac']);
  expect(await cell('ksu', 'today-files')).toBe('2');
  expect(await cell('ksu', 'today-bytes')).toBe('3.20 GB');
  expect(await cell('ksu', 'backlog')).toBe('1');
  expect(await cell('ua-mac', 'today-files')).toBe('2');
  expect(await cell('ua-mac', 'backlog')).toBe('2');
  expect(await cell('ua-mac', 'failures')).toBe('1');
  expect(await cell('ua-mac', 'tasks')).toBe('1');
  expect(await cell('ua-mac', 'oldest')).toMatch(/ago$/);
  expect(await page.locator('#failures tbody tr').count()).toBe(1);
  expect(await page.locator('#failures tbody').textContent()).toContain('FILE_NOT_FOUND');
  const dlq = page.locator(`#dead-letters tr[data-queue="${h.amqp.topology.deadLetterQueue({ key: 'batcherUploads', site: 'ua-mac' })}"]`);
  expect(await dlq.locator('td.num').textContent()).toBe('2');
  expect(await dlq.locator('td[data-field="broker"]').textContent()).toBe('one broker');
  expect(await page.locator('#tasks tr[data-task="task-2"]').count()).toBe(1);
  expect(await page.locator('#updated').textContent()).toMatch(/^updated /);
  await shot('status-page');
  expect(pageErrors).toEqual([]);
});

it('draws the weekly volume with one series per site, and per sensor on demand', async () => {
  // Read from the chart instance itself (the page's globals; the test is type-checked without the DOM library).
  const series = () => page.evaluate<{ labels: string[]; datasets: Array<{ label: string; total: number }> }>(`(() => {
    const chart = Chart.getChart(document.getElementById('volume-chart'));
    return { labels: chart.data.labels, datasets: chart.data.datasets.map((d) => ({ label: d.label, total: d.data.reduce((a, b) => a + b, 0) })) };
  })()`);
  const all = await series();
  expect(all.datasets).toEqual([{ label: 'ksu', total: 3_200_000_000 }, { label: 'ua-mac', total: 4_000_000_000 + 1001 + 1020 }]);
  expect(all.labels.length).toBeGreaterThanOrEqual(1);
  expect(await page.locator('#volume-chart').getAttribute('data-series')).toBe('2');
  expect(await page.locator('#sensor option').evaluateAll((o) => o.map((x) => x.getAttribute('value')))).toEqual(['', 'flirIrCamera', 'scanner3DTop', 'stereoTop']);
  await page.selectOption('#sensor', 'scanner3DTop');
  await waitFor('the chart redrawn for one sensor', async () => (await series()).datasets.length === 1);
  expect((await series()).datasets).toEqual([{ label: 'ksu', total: 2_500_000_000 }]);
  await page.selectOption('#sensor', '');
  await waitFor('the chart back to every sensor', async () => (await series()).datasets.length === 2);
});

it("finds a path and shows its whole timeline: uploaded → submitted → transferred → deleted → ingested", async () => {
  const path = lifeOf(1).uploaded.data.path;
  await page.fill('#search-path', path);
  await page.click('#search button[type="submit"]');
  await page.locator('#search-result [data-found="path"]').waitFor();
  expect(await page.locator('#search-result [data-found="path"]').textContent()).toBe(path);
  const steps = await page.locator('#search-result ol.timeline li').evaluateAll((li) => li.map((x) => [x.getAttribute('data-step'), x.getAttribute('data-done')]));
  expect(steps).toEqual([['uploaded', 'true'], ['submitted', 'true'], ['transferred', 'true'], ['deleted', 'true'], ['ingested', 'true']]);
  expect(await page.locator('#search-result tr[data-event]').evaluateAll((r) => r.map((x) => x.getAttribute('data-event'))))
    .toEqual(['file.uploaded', 'task.submitted', 'file.transferred', 'file.deleted', 'file.ingested']);
  await page.locator('#search-result details summary').click();
  await shot('search-timeline');

  // A file still in flight: its later steps are not done.
  await page.fill('#search-path', lifeOf(2).uploaded.data.path);
  await page.click('#search button[type="submit"]');
  await waitFor('the second timeline', async () => (await page.locator('#search-result [data-found="path"]').textContent()) === lifeOf(2).uploaded.data.path);
  expect(await page.locator('#search-result li[data-done="true"]').evaluateAll((li) => li.map((x) => x.getAttribute('data-step')))).toEqual(['uploaded', 'submitted']);

  // A folder (ending in /) lists the paths under it; one click opens a timeline.
  await page.fill('#search-path', '/cache/MovingSensor/flirIrCamera/');
  await page.click('#search button[type="submit"]');
  await page.locator('#search-result ul button').first().waitFor();
  expect(await page.locator('#search-result ul button').allTextContents()).toEqual(['/cache/MovingSensor/flirIrCamera/2026-01-05/f12.bin', '/cache/MovingSensor/flirIrCamera/2026-01-05/f4.bin']);
});

it('shows a path that looks like HTML as text, never as markup', async () => {
  await page.fill('#search-path', HOSTILE_PATH);
  await page.click('#search button[type="submit"]');
  await page.locator('#search-result ol.timeline').waitFor();
  expect(await page.locator('#search-result [data-found="path"]').textContent()).toBe(HOSTILE_PATH);
  expect(await page.locator('#search-result img').count()).toBe(0);
  expect(await page.evaluate('document.body.dataset.pwned')).toBeUndefined();
  expect(pageErrors).toEqual([]);
});

it('PostgreSQL unreachable: the page says the log is behind, and clears when it is back', async () => {
  await relay.down();
  await page.locator('#banner').waitFor({ state: 'visible', timeout: 20_000 });
  expect(await page.locator('#banner').textContent()).toMatch(/PostgreSQL unreachable: the log is behind/);
  expect(await page.locator('#health').textContent()).toBe('behind');
  // The last figures stay on screen.
  expect(await cell('ksu', 'today-files')).toBe('2');
  await shot('postgres-down');
  await relay.up();
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: 30_000 });
  expect(await page.locator('#health').textContent()).toBe('live');
});
