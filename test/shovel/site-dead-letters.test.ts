import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AmqpClient, createLogger, createRegistry } from '@terra-transfer/platform';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, startPrivateRabbit, tempDir, testLogger, uniquePrefix, waitFor, type PrivateRabbit } from '@terra-transfer/testkit';
import { expectOneLineError, terra } from '../../packages/cli/test/run.js';
import { freshDatabase, startHarness, TEST_SITES, type Harness } from '../../services/transfer-log/test/harness.js';

/**
 * Two brokers (decision 0028): a private RabbitMQ node stands for the site's
 * broker, the machine's for the data centre's, where the transfer log runs
 * (AMQP_SIDE=datacentre). With SITE_AMQP_URL, the log's status must list the
 * site's dead-letter queues, read on the site broker and saying so; `terra dlq
 * list` at the data centre (AMQP_SIDE=datacentre) shows them through the
 * transfer log. The site broker down makes those depths unknown (null, a
 * counted read error) while the data centre's stay read and the status keeps
 * answering; the site broker back, they are read again.
 */
interface Depth { key: string; site?: string; queue: string; broker: string; messages: number | null }

let site: PrivateRabbit;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let h: Harness;
let dir: Awaited<ReturnType<typeof tempDir>>;
let cliEnv: Record<string, string>;
const prefix = uniquePrefix('tlog-sdl');
// The transfer log reads the site broker as a user with no permission at all (a passive declare needs none).
const SECRET = `pw-${prefix}`;
const logLines: string[] = [];

beforeAll(async () => {
  site = await startPrivateRabbit();
  db = await freshDatabase();
  // The site's services declare the site's queues on the site broker; one message of the batcher's is dead-lettered there.
  const siteClient = new AmqpClient({ url: site.url, prefix, side: 'site', sites: TEST_SITES, connectionName: 'site-test', logger: testLogger(), registry: createRegistry(), deliveryLimit: 3 });
  await siteClient.start();
  const t = siteClient.topology;
  await siteClient.publishRaw(t.deadLetterExchange, t.queue({ key: 'batcherUploads', site: 'ua-mac' }), Buffer.from('{"bad":1}'));
  await siteClient.close(1_000);
  await site.ctl('add_user', 'dlq-reader', SECRET);
  await site.ctl('set_permissions', '-p', '/', 'dlq-reader', '', '', '');
  // The service's own logger (its redaction included), its lines kept to look for the secret in.
  const logger = createLogger({ service: 'transfer-log', level: 'debug', destination: new Writable({ write: (chunk, _enc, done) => done(void logLines.push(String(chunk))) }) });
  h = await startHarness(db.url, { AMQP_PREFIX: prefix, AMQP_SIDE: 'datacentre', SITE_AMQP_URL: `amqp://dlq-reader:${SECRET}@127.0.0.1:${site.port}` }, { logger });
  await h.log.http.listen({ host: '127.0.0.1', port: 0 });
  dir = await tempDir('site-dlq');
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites(TEST_SITES.map((name) => testSite({ name, cacheRoot: `/cache/${name}` }))));
  // The operator at the data centre: terra reaches the data centre's broker (the machine's) and the transfer log.
  cliEnv = {
    SITES_FILE: sitesFile, AMQP_URL, AMQP_PREFIX: prefix, AMQP_SIDE: 'datacentre',
    SERVICE_URLS: `transfer-log=http://127.0.0.1:${(h.log.http.server.address() as AddressInfo).port}`,
  };
}, 120_000);

afterAll(async () => {
  await dir?.remove();
  await h?.close();
  await site?.stop();
  await db?.drop();
}, 60_000);

const status = async () => {
  const r = await h.get('/api/v1/status');
  expect(r.status).toBe(200);
  return r.body as { postgres: boolean; deadLetters: Depth[] | null };
};
const siteQueue = (d: Depth) => ['batcherUploads', 'cleanerTransfers', 'cleanerFailures', 'tailerRejects'].includes(d.key);

it("lists the site's dead-letter queues with their depth, read on the site broker, beside the data centre's own", async () => {
  const dl = (await status()).deadLetters!;
  expect(dl).toEqual(expect.arrayContaining([
    { key: 'batcherUploads', site: 'ua-mac', queue: `${prefix}.batcher.file-uploaded.ua-mac.dlq`, broker: 'site', messages: 1 },
    { key: 'batcherUploads', site: 'ksu', queue: `${prefix}.batcher.file-uploaded.ksu.dlq`, broker: 'site', messages: 0 },
    { key: 'tailerRejects', queue: `${prefix}.log-tailer.rejects.dlq`, broker: 'site', messages: 0 },
    { key: 'transferLog', queue: `${prefix}.transfer-log.events.dlq`, broker: 'datacentre', messages: 0 },
    { key: 'watcherTasks', queue: `${prefix}.watcher.task-submitted.dlq`, broker: 'datacentre', messages: 0 },
  ]));
  // Every queue once, each on the broker the contract puts it on; taps have none.
  expect(new Set(dl.map((d) => d.queue)).size).toBe(dl.length);
  expect(dl.filter(siteQueue).every((d) => d.broker === 'site')).toBe(true);
  expect(dl.filter((d) => !siteQueue(d)).every((d) => d.broker === 'datacentre')).toBe(true);
  expect(dl.filter(siteQueue)).toHaveLength(3 * TEST_SITES.length + 1);
  expect(dl.some((d) => d.key === 'outcomes' || d.key === 'failedFiles')).toBe(false);
  expect(await h.metric('terra_transfer_log_dead_letter_read_errors_total', { broker: 'site' })).toBe(0);
});

it("terra dlq list at the data centre shows the site's dead letters (through the transfer log) beside its own broker's", async () => {
  const r = await terra(['dlq', 'list', '--json'], cliEnv);
  expect(r.code).toBe(0);
  const rows = r.json() as Array<{ name: string; broker: string; messages: number | null; declared: boolean }>;
  expect(rows).toEqual(expect.arrayContaining([
    expect.objectContaining({ name: `${prefix}.batcher.file-uploaded.ua-mac.dlq`, broker: 'site', messages: 1, declared: true }),
    expect.objectContaining({ name: `${prefix}.transfer-log.events.dlq`, broker: 'datacentre', messages: 0, declared: true }),
  ]));
  // A site queue is handled where it lives: one line naming the broker to run terra against.
  expectOneLineError(await terra(['dlq', 'show', `${prefix}.batcher.file-uploaded.ua-mac.dlq`], cliEnv), 5, /lives on the site broker, not on this datacentre one/);
});

it('the site broker down: its depths are unknown and counted, the rest still read; back, read again', async () => {
  await site.ctl('stop_app');
  // The status caches depths for 5 s: the next read after that finds the site broker gone.
  const down = await waitFor('site depths unknown', async () => {
    const s = await status();
    return s.deadLetters!.filter(siteQueue).every((d) => d.messages === null) ? s : undefined;
  }, 30_000, 500);
  expect(down.postgres).toBe(true);
  expect(down.deadLetters!.filter(siteQueue)).toHaveLength(3 * TEST_SITES.length + 1);
  expect(down.deadLetters!.filter((d) => !siteQueue(d)).every((d) => d.messages === 0)).toBe(true);
  expect(await h.metric('terra_transfer_log_dead_letter_read_errors_total', { broker: 'site' })).toBeGreaterThan(0);
  // The read errors were logged, never with the site broker's credentials.
  expect(logLines.filter((l) => l.includes('dead-letter queue depth not read') && l.includes('"broker":"site"')).length).toBeGreaterThan(0);
  expect(logLines.filter((l) => l.includes(SECRET))).toEqual([]);

  await site.ctl('start_app');
  await waitFor('site depths read again', async () => {
    const dl = (await status()).deadLetters!;
    return dl.find((d) => d.queue === `${prefix}.batcher.file-uploaded.ua-mac.dlq`)?.messages === 1;
  }, 60_000, 500);
}, 120_000);
