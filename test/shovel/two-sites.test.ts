/**
 * Two sites, two brokers, with the real services (decision 0028): the site's
 * services (log-tailer, batcher, cleaner) use a site broker and a site Redis,
 * the data centre's (watcher, clowder-ingest, transfer-log) a data-centre
 * broker and Redis of their own (`localStack({ brokers })`, `AMQP_SIDE`). Each
 * side's services declare that side's queues, its outbox and its inbound
 * exchange (packages/contracts topology with a side); two dynamic shovels
 * (contracts' `shovelParameter`, enabled on these private nodes only) carry
 * each outbox to the other broker.
 *
 * While the gantry uploads, the link is cut for LINK_DOWN_MS (both shovels
 * deleted, as a WAN cut leaves both brokers running) and then restored. The
 * site must keep accepting uploads (the batcher submits, the outbox fills),
 * and afterwards every file must be at the destination, registered once in
 * Clowder, deleted from the cache only once verified, moved by Globus once,
 * nothing dead-lettered on either broker, both outboxes empty, and the
 * transfer log at the data centre must have recorded the site's deletions.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shovelParameter, topology, type BrokerSide } from '@terra-transfer/contracts';
import { Gantry, clean, dropTransferLogDatabase, localProcesses, localStack, prepareLayout, transferLogDatabaseUrl, verdictSummary, verify, type Verdict } from '@terra-transfer/stack';
import { freePort, queueDepths, startPrivateRabbit, startPrivateRedis, tempDir, uniquePrefix, waitFor, type PrivateRabbit } from '@terra-transfer/testkit';

const LINK_DOWN_MS = Number(process.env['TWO_SITES_LINK_DOWN_MS'] ?? 60_000);
/** Uploads before the cut, so that work of every stage is under way when the link goes. */
const BEFORE_MS = 15_000;
const KEEP_LOGS = process.env['KEEP_LOGS'] !== undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`a site keeps accepting uploads while its link to the data centre is cut for ${LINK_DOWN_MS / 1000} s, and everything arrives once after`, async () => {
  const dir = await tempDir('two-sites');
  const [siteRabbit, dcRabbit] = await Promise.all([startPrivateRabbit({ plugins: ['rabbitmq_shovel'] }), startPrivateRabbit({ plugins: ['rabbitmq_shovel'] })]);
  const [siteRedis, dcRedis] = await Promise.all([startPrivateRedis(), startPrivateRedis()]);
  const prefix = uniquePrefix('two');
  const probe = localStack({ workDir: dir.path, prefix, ports: new Proxy({}, { get: () => 1 }) });
  const ports = Object.fromEntries(await Promise.all(localProcesses(probe.sites, true).map(async (p) => [p.name, await freePort()])));
  const { stack, layout, sites } = localStack({
    batch: { maxFiles: 40, maxAgeSeconds: 1 },
    workDir: dir.path, prefix, ports, logLevel: KEEP_LOGS ? 'info' : 'warn', logFiles: KEEP_LOGS,
    brokers: { site: { amqpUrl: siteRabbit.url, redisUrl: siteRedis.url }, datacentre: { amqpUrl: dcRabbit.url, redisUrl: dcRedis.url } },
    // Two Redis, two Globus request budgets: the identity's 18/s split between the sides (docs/operations.md).
    env: { batcher: { GLOBUS_RATE_LIMIT: '12' }, watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '2000', GLOBUS_RATE_LIMIT: '6' }, 'log-tailer': { ROTATE_WAIT_MS: '5000' } },
  });
  // Each service on its side's broker and Redis.
  for (const [name, side] of [['log-tailer', 'site'], ['batcher', 'site'], ['cleaner', 'site'], ['watcher', 'datacentre'], ['clowder-ingest', 'datacentre'], ['transfer-log', 'datacentre']] as const) {
    const env = stack.spec(name).env;
    expect({ name, url: env['AMQP_URL'], side: env['AMQP_SIDE'], redis: env['REDIS_URL'] }).toEqual({ name, url: (side === 'site' ? siteRabbit : dcRabbit).url, side, redis: (side === 'site' ? siteRedis : dcRedis).url });
  }
  await prepareLayout(layout);
  if (KEEP_LOGS) await mkdir(join(dir.path, 'logs'), { recursive: true });
  const rabbits: Record<BrokerSide, PrivateRabbit> = { site: siteRabbit, datacentre: dcRabbit };
  const t = { site: topology(prefix, sites.names(), 'site'), datacentre: topology(prefix, sites.names(), 'datacentre') };
  const shovels = (['site', 'datacentre'] as const).map((side) => ({ side, ...shovelParameter(t[side], { remoteUri: rabbits[side === 'site' ? 'datacentre' : 'site'].url, reconnectDelaySeconds: 1 }) }));
  const linkUp = async () => {
    for (const s of shovels) await rabbits[s.side].ctl('set_parameter', 'shovel', s.name, JSON.stringify(s.value));
  };
  const linkDown = async () => {
    for (const s of shovels) await rabbits[s.side].ctl('clear_parameter', 'shovel', s.name);
  };
  const outboxes = async () => ({
    toDc: (await queueDepths(siteRabbit.url, [t.site.link!.outbox.name]))[t.site.link!.outbox.name],
    toSite: (await queueDepths(dcRabbit.url, [t.datacentre.link!.outbox.name]))[t.datacentre.link!.outbox.name],
  });
  const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: 60, keep: 100, seed: 2828, killedShare: 0.03, rewriteShare: 0.03 });
  const events: string[] = [];
  let verdict: Verdict | undefined;
  let started = Date.now();
  const note = (what: string) => events.push(`${Math.round((Date.now() - started) / 1000)}s ${what}`);
  // Uploads go on until the link has been down for LINK_DOWN_MS (set at the cut; until then, open-ended).
  let until = Infinity;
  try {
    // The services declare their side's queues, outbox and inbound exchange at start; the shovels need them.
    await stack.start();
    await linkUp();
    started = Date.now();
    const writer = (async () => {
      while (Date.now() < until) {
        await gantry.dataset();
        await sleep(250);
      }
    })();
    await sleep(BEFORE_MS);
    // Work crossed the link both ways before the cut: transfers verified at the data centre, deleted at the site.
    await waitFor('files deleted at the site before the cut', async () => (await stack.metric('cleaner', 'terra_transfer_cleaner_deletions_total', { outcome: 'deleted' })) > 0, 60_000, 500);
    await linkDown();
    const cutAt = Date.now();
    until = cutAt + LINK_DOWN_MS;
    note('link cut (both shovels deleted)');
    const cut = {
      submitted: await stack.metric('batcher', 'terra_transfer_batches_submitted_total'),
      deleted: await stack.metric('cleaner', 'terra_transfer_cleaner_deletions_total', { outcome: 'deleted' }),
      uploadsSeen: gantry.expected().length,
    };
    await writer;
    await gantry.settle();
    await sleep(cutAt + LINK_DOWN_MS - Date.now());
    const downMs = Date.now() - cutAt;
    const during = {
      submitted: await stack.metric('batcher', 'terra_transfer_batches_submitted_total'),
      outboxes: await outboxes(),
      uploads: gantry.expected().length,
    };
    note(`link restored after ${Math.round(downMs / 1000)} s: ${JSON.stringify(during)}`);
    await linkUp();
    // The site went on while the link was down: uploads accepted and sent to Globus, events waiting in its outbox.
    expect(downMs).toBeGreaterThanOrEqual(LINK_DOWN_MS);
    expect(during.uploads).toBeGreaterThan(cut.uploadsSeen);
    expect(during.submitted).toBeGreaterThan(cut.submitted);
    expect(during.outboxes.toDc).toBeGreaterThan(0);

    const expected = gantry.expected();
    const deadline = Date.now() + 180_000;
    do {
      await sleep(2_000);
      verdict = await verify(stack, layout, expected).catch(() => verdict);
    } while ((!verdict || verdict.missing.length || verdict.inCache.length || verdict.clowder.distinctFilePaths < expected.length) && Date.now() < deadline);
    verdict = await verify(stack, layout, expected, { globusDetail: true });
    note('verified');
    process.stderr.write(`two-sites: ${JSON.stringify({ ...verdictSummary(verdict), cut, during, events })}\n`);

    expect({ lost: verdict.missing.length, leftInCache: verdict.inCache.length, deletedPrematurely: verdict.deletedPrematurely }).toEqual({ lost: 0, leftInCache: 0, deletedPrematurely: [] });
    // Both brokers' dead-letter queues were looked at, and are empty.
    expect(Object.keys(verdict.deadLettered).some((q) => q.includes('.batcher.'))).toBe(true);
    expect(Object.keys(verdict.deadLettered).some((q) => q.includes('.ingest.'))).toBe(true);
    expect(verdict.deadLettered).toEqual(Object.fromEntries(Object.keys(verdict.deadLettered).map((q) => [q, 0])));
    expect(verdict.clowder).toMatchObject({ duplicates: 0, files: expected.length, distinctFilePaths: expected.length });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    expect(verdict.globus.duplicateLabels).toEqual([]);
    expect(verdict.ledger.unexplained).toEqual([]);
    expect(clean(verdict)).toBe(true);
    await waitFor('both outboxes empty', async () => { const o = await outboxes(); return o.toDc === 0 && o.toSite === 0; }, 30_000, 500);
    // The data centre's transfer log recorded what the site published (deletions) and what the data centre did (arrivals).
    // file.deleted comes per chunk of files (decision 0053): count the versions the transfer log has as deleted.
    const deletedVersions = async () => {
      let n = 0;
      let cursor: string | null = null;
      do {
        const u = new URL('/api/v1/files', stack.url('transfer-log'));
        u.searchParams.set('prefix', `${layout.cacheRoot}/`);
        u.searchParams.set('limit', '1000');
        if (cursor) u.searchParams.set('cursor', cursor);
        const page = (await (await fetch(u)).json()) as { items: Array<{ state: string }>; nextCursor: string | null };
        n += page.items.filter((v) => v.state === 'deleted').length;
        cursor = page.nextCursor;
      } while (cursor);
      return n;
    };
    await waitFor('the transfer log recorded every deletion', async () => (await deletedVersions()) >= expected.length, 30_000, 500);
    expect(await stack.metric('transfer-log', 'terra_transfer_files_total')).toBeGreaterThanOrEqual(expected.length);
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    const v = verdict && { ...verdictSummary(verdict), deadLettered: verdict.deadLettered, missing: verdict.missing.slice(0, 5), inCache: verdict.inCache.slice(0, 5), unexplained: verdict.ledger.unexplained.slice(0, 5) };
    throw new Error(`${String(err)}\nevents: ${events.join(', ')}\nverdict: ${JSON.stringify(v)}\noutboxes: ${JSON.stringify(await outboxes().catch((e) => String(e)))}\n${logs}`, { cause: err });
  } finally {
    until = 0;
    await stack.killAll();
    await Promise.all([siteRabbit.stop(), dcRabbit.stop(), siteRedis.stop(), dcRedis.stop()]);
    await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
    if (KEEP_LOGS) process.stderr.write(`two-sites: logs kept in ${dir.path}/logs\n`);
    else await dir.remove();
  }
}, 420_000);
