/**
 * Long outages of the systems the pipeline depends on, on a broker that
 * enforces a consumer timeout as production brokers do (a private RabbitMQ
 * node with consumer_timeout = 60 s) and a low delivery limit (2).
 *
 * Globus (its simulator) is down for longer than limit × timeout, then the
 * Clowder simulator as long, and clowder-ingest is restarted in the middle
 * of the Clowder outage. A delivery held through an outage is redelivered
 * each time the broker's timeout closes its channel; past the limit it is
 * dead-lettered. The pipeline must ride both outages out: every file
 * arrives with its bytes, is deleted from the cache and registered once,
 * nothing is dead-lettered, and no service exits on its own.
 */
import { Gantry, deadLetterSample, localStack, prepareLayout, verdictSummary, verify, type ServiceName, type Verdict } from '@terra-transfer/stack';
import { freePort, startPrivateRabbit, tempDir, uniquePrefix } from '@terra-transfer/testkit';

const CONSUMER_TIMEOUT_MS = 60_000;
/**
 * How often the broker's channels check their consumer timeouts (60 s by
 * default, so a timeout fires 60–120 s after the delivery): checked often,
 * every timeout fires as early as a production broker could fire it.
 */
const TICK_MS = 5_000;
const DELIVERY_LIMIT = 2;
/**
 * A quorum queue dead-letters a message when it comes back for the
 * (limit + 1)th time: an outage that long lets a delivery held through it
 * time out limit + 1 times.
 */
const OUTAGE_MS = (DELIVERY_LIMIT + 1) * (CONSUMER_TIMEOUT_MS + TICK_MS);
const SERVICES: ServiceName[] = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`rides out a ${OUTAGE_MS / 1000} s Globus outage and a Clowder outage as long (consumer_timeout ${CONSUMER_TIMEOUT_MS / 1000} s, delivery limit ${DELIVERY_LIMIT})`, async () => {
  const dir = await tempDir('outage');
  const rabbit = await startPrivateRabbit({ conf: { consumer_timeout: CONSUMER_TIMEOUT_MS }, advanced: { channel_tick_interval: TICK_MS } });
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
  const { stack, layout } = localStack({
    batch: { maxFiles: 20, maxAgeSeconds: 1 },
    workDir: dir.path, prefix: uniquePrefix('outage'), amqpUrl: rabbit.url, ports, logLevel: 'warn', deliveryLimit: DELIVERY_LIMIT,
    env: {
      watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '2000' },
    },
  });
  await prepareLayout(layout);
  const t0 = Date.now();
  const events: string[] = [];
  const step = (what: string) => {
    events.push(`${Math.round((Date.now() - t0) / 1000)}s ${what}`);
    process.stderr.write(`outage ${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}\n`);
  };
  let verdict: Verdict | undefined;
  const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: 0, seed: 515 });
  const upload = async (datasets: number) => {
    for (let i = 0; i < datasets; i++) await gantry.dataset();
  };
  /** Polls the verifier (which needs both simulators up) until every file is where it belongs. */
  const drain = async (timeoutMs: number, done: (v: Verdict) => boolean) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      verdict = await verify(stack, layout, gantry.expected()).catch(() => verdict);
      if ((verdict && done(verdict)) || Date.now() > deadline) return;
      await sleep(2_000);
    }
  };
  try {
    await stack.start();
    // An exit the test did not cause is noted (and the service restarted, as systemd would): none may happen.
    stack.supervise(5_000);
    step('stack started');
    await upload(5);
    await drain(60_000, (v) => v.missing.length === 0);
    step(`before the outages: ${verdict?.arrived}/${gantry.expected().length} arrived`);

    await stack.stopService('globus-sim');
    step('Globus down');
    await upload(10);
    await sleep(OUTAGE_MS / 2);
    await upload(5);
    await sleep(OUTAGE_MS / 2);
    await stack.restart('globus-sim');
    step('Globus up');
    await drain(60_000, (v) => v.missing.length === 0 && v.inCache.length === 0);
    step(`after the Globus outage: ${verdict?.arrived}/${gantry.expected().length} arrived`);

    await stack.stopService('clowder-sim');
    step('Clowder down');
    await upload(8);
    await sleep(OUTAGE_MS / 2);
    await stack.stopService('clowder-ingest');
    // Not waited for: a service that cannot start without Clowder exits, and that is what the test reports.
    stack.proc('clowder-ingest').start();
    step('clowder-ingest restarted');
    await sleep(OUTAGE_MS / 2);
    await stack.restart('clowder-sim');
    step('Clowder up');
    if (!stack.proc('clowder-ingest').running) await stack.restart('clowder-ingest').catch(() => undefined);
    const expected = gantry.expected();
    await drain(90_000, (v) => v.missing.length === 0 && v.inCache.length === 0 && v.clowder.distinctFilePaths >= expected.length);
    verdict = await verify(stack, layout, expected, { globusDetail: true });
    const summary = verdictSummary(verdict);
    const exits = stack.ownExits();
    step('drained');
    process.stderr.write(`outage verdict: ${JSON.stringify({ ...summary, exited: Object.keys(exits) })}\n`);

    expect(Object.fromEntries(Object.entries(exits).map(([s, e]) => [s, e.map((x) => `exit ${x.code ?? x.signal}: ${x.tail.split('\n').slice(-3).join(' | ')}`)]))).toEqual({});
    expect(verdict.deadLettered).toEqual(Object.fromEntries(Object.keys(verdict.deadLettered).map((q) => [q, 0])));
    expect({ lost: verdict.missing, leftInCache: verdict.inCache, deletedPrematurely: verdict.deletedPrematurely }).toEqual({ lost: [], leftInCache: [], deletedPrematurely: [] });
    expect(verdict.clowder).toMatchObject({ duplicates: 0, files: expected.length, distinctFilePaths: expected.length });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    expect(verdict.ledger.unexplained).toEqual([]);
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    const v = verdict && { ...verdictSummary(verdict), deadLettered: verdict.deadLettered, missing: verdict.missing.slice(0, 10), inCache: verdict.inCache.slice(0, 10), unsettled: verdict.ledger.unsettled.slice(0, 10) };
    throw new Error(`${String(err)}\noutage: ${events.join(', ')}\nverdict: ${JSON.stringify(v)}\ndead letters: ${JSON.stringify(verdict ? await deadLetterSample(stack, verdict).catch((e) => String(e)) : [])}\n${logs}\n--- private RabbitMQ:\n${await rabbit.logTail(15)}`, { cause: err });
  } finally {
    await stack.killAll();
    await rabbit.stop();
    await dir.remove();
  }
}, 720_000);
