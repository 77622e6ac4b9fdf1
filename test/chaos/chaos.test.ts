/**
 * The pipeline under chaos, every consumer as competing instances (batcher
 * ×2, watcher ×2, cleaner ×2, clowder-ingest ×3, the log-tailer once: two
 * would send every upload twice): while the gantry uploads (with log rotations,
 * killed uploads and their retries, files rewritten after they were sent), a
 * driver kill -9s a random service every few seconds and restarts it,
 * restarts RabbitMQ and Redis (private instances: a RabbitMQ node of its own
 * with consumer_timeout = 60 s as in production, a Redis with AOF), and takes
 * the Globus and Clowder simulators down for a while. At the end, verified
 * from the outside: every file at the destination with the newest content,
 * gone from the cache, registered once in Clowder, moved by Globus no more
 * often than it had versions, nothing dead-lettered, no ledger record left in
 * flight or failed without a reason.
 *
 * The verdict is one JSON line on stdout. CI runs the short form (40 s, one
 * of each fault, short outages); `make chaos` runs CHAOS_SECONDS=600: two
 * broker and two Redis restarts, a Globus outage longer than the consumer
 * timeout and a Clowder outage, and at least 50 kills.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Gantry, clean, deadLetterSample, localProcesses, localStack, prepareLayout, verdictSummary, verify, type Verdict } from '@terra-transfer/stack';
import { freePort, startPrivateRabbit, startPrivateRedis, tempDir, uniquePrefix } from '@terra-transfer/testkit';

const SECONDS = Number(process.env['CHAOS_SECONDS'] ?? 40);
/** The long form: faults that need time (outages past the consumer timeout, repeated restarts). */
const LONG = SECONDS >= 300;
const CONSUMER_TIMEOUT_MS = 60_000;
/** Channels check consumer timeouts every 5 s (not every minute): a held delivery times out as early as it can. */
const TICK_MS = 5_000;
/** Competing instances of each consumer (decision 0026); the first keeps the service's name, the others are `<name>.<k>`. */
const INSTANCES = { batcher: 2, watcher: 2, cleaner: 2, 'clowder-ingest': 3 } as const;

/** When (share of the run) each infrastructure fault starts, and how long an outage lasts. */
const PLAN = LONG
  ? {
    rabbit: [0.15, 0.55], redis: [0.35, 0.75],
    // Past the consumer timeout, plus RabbitMQ's once-a-minute check of it.
    globus: { at: 0.2, ms: CONSUMER_TIMEOUT_MS + 45_000 },
    clowder: { at: 0.6, ms: CONSUMER_TIMEOUT_MS },
  }
  : { rabbit: [0.3], redis: [0.6], globus: { at: 0.45, ms: 4_000 }, clowder: { at: 0.75, ms: 4_000 } };

const KEEP_LOGS = process.env['KEEP_LOGS'] !== undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`loses nothing, deletes nothing early and duplicates nothing under ${SECONDS} s of kill -9, restarts and outages`, async () => {
  const dir = await tempDir('chaos');
  const rabbit = await startPrivateRabbit({ conf: { consumer_timeout: CONSUMER_TIMEOUT_MS }, advanced: { channel_tick_interval: TICK_MS } });
  const redis = await startPrivateRedis();
  const prefix = uniquePrefix('chaos');
  // Every process of the stack (instances included) gets a free port of its own, so the test runs beside others.
  const probe = localStack({ workDir: dir.path, prefix, ports: new Proxy({}, { get: () => 1 }), instances: INSTANCES });
  const procs = localProcesses(probe.sites, false, INSTANCES);
  const ports = Object.fromEntries(await Promise.all(procs.map(async (p) => [p.name, await freePort()])));
  // Every process but the simulators is a victim: each instance of each consumer, and the one log-tailer.
  const VICTIMS = procs.filter((p) => p.service !== 'globus-sim' && p.service !== 'clowder-sim').map((p) => p.name);
  const { stack, layout } = localStack({
    batch: { maxFiles: 50, maxAgeSeconds: 1 },
    // KEEP_LOGS=1: every process's output (at info) kept in <workDir>/logs, and the work dir left for a look.
    workDir: dir.path, prefix, amqpUrl: rabbit.url, redisUrl: redis.url, ports, logLevel: KEEP_LOGS ? 'info' : 'warn', logFiles: KEEP_LOGS, instances: INSTANCES,
    env: {
      batcher: { SHUTDOWN_DRAIN_MS: '2000' },
      watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '2000' },
      'log-tailer': { ROTATE_WAIT_MS: '5000' },
    },
  });
  expect([...stack.procs.keys()].sort()).toEqual(['batcher', 'batcher.2', 'cleaner', 'cleaner.2', 'clowder-ingest', 'clowder-ingest.2', 'clowder-ingest.3', 'clowder-sim', 'globus-sim', 'log-tailer', 'watcher', 'watcher.2']);
  await prepareLayout(layout);
  if (KEEP_LOGS) await mkdir(join(dir.path, 'logs'), { recursive: true });
  const events: string[] = [];
  const counts = { kills: 0, rabbit_restarts: 0, redis_restarts: 0, globus_outages: 0, clowder_outages: 0 };
  let verdict: Verdict | undefined;
  const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: 60, keep: 100, seed: 1234, killedShare: 0.03, rewriteShare: 0.03 });
  // Reset once the stack is up: a slow start (a loaded machine) must not eat the chaos window.
  let started = Date.now();
  const note = (what: string) => events.push(`${Math.round((Date.now() - started) / 1000)}s ${what}`);
  try {
    await stack.start();
    // A service that exits on its own is restarted (as systemd would) and reported in the verdict.
    stack.supervise(2_000);
    started = Date.now();
    const until = started + SECONDS * 1000;
    const writer = (async () => {
      while (Date.now() < until) {
        await gantry.dataset();
        await sleep(100);
      }
    })();
    const restarts: Array<Promise<unknown>> = [];
    const kills = (async () => {
      while (Date.now() < until) {
        await sleep(2_000 + Math.random() * 2_000);
        if (Date.now() >= until) break;
        // A process still starting after its last kill may die again; one not running is not a victim.
        const alive = VICTIMS.filter((v) => stack.proc(v).running);
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (!victim) continue;
        note(`kill -9 ${victim}`);
        counts.kills++;
        await stack.kill9(victim);
        await sleep(300 + Math.random() * 1_000);
        // Restarted without waiting for its readiness: a dozen processes on a loaded machine take seconds to be
        // ready, and the kills must keep their pace. A service whose upstream is down starts but stays not ready
        // (the batcher during the Globus outage); an exit would be in own_exits.
        restarts.push(stack.restart(victim).catch(() => note(stack.proc(victim).running
          ? `${victim} not ready within 60 s (an upstream may be down; exits are counted in own_exits)`
          : `${victim} killed again before it was ready`)));
      }
    })();
    const at = async (share: number, fault: () => Promise<void>) => {
      await sleep(Math.max(0, started + share * SECONDS * 1000 - Date.now()));
      await fault();
    };
    const outage = (sim: 'globus-sim' | 'clowder-sim', ms: number) => async () => {
      note(`${sim} down for ${ms / 1000} s`);
      counts[sim === 'globus-sim' ? 'globus_outages' : 'clowder_outages']++;
      await stack.stopService(sim);
      await sleep(ms);
      await stack.restart(sim);
      note(`${sim} up`);
    };
    const infra = Promise.all([
      ...PLAN.rabbit.map((s) => at(s, async () => {
        note('restart RabbitMQ');
        counts.rabbit_restarts++;
        await rabbit.restart();
      })),
      ...PLAN.redis.map((s) => at(s, async () => {
        note('restart Redis (kill -9, AOF)');
        counts.redis_restarts++;
        await redis.restart();
      })),
      at(PLAN.globus.at, outage('globus-sim', PLAN.globus.ms)),
      at(PLAN.clowder.at, outage('clowder-sim', PLAN.clowder.ms)),
    ]);
    await Promise.all([writer, kills, infra]);
    await Promise.all(restarts);
    // The retries and rewrites still planned happen; then everything is up again and the pipeline drains.
    await gantry.settle();
    for (const s of VICTIMS) await stack.restart(s).catch(() => note(`${s} not ready within 60 s`));
    const expected = gantry.expected();
    const deadline = Date.now() + 180_000;
    do {
      await sleep(2_000);
      verdict = await verify(stack, layout, expected).catch(() => verdict);
    } while ((!verdict || verdict.missing.length || verdict.inCache.length || verdict.clowder.distinctFilePaths < expected.length) && Date.now() < deadline);
    verdict = await verify(stack, layout, expected, { globusDetail: true });
    const kinds = (k: string) => gantry.uploads.filter((u) => u.kind === k).length;
    const line = {
      ...verdictSummary(verdict),
      seconds: SECONDS, ...counts, rotations: gantry.rotations, killed_uploads: kinds('killed'), rewrites: kinds('rewrite'),
      own_exits: Object.values(stack.ownExits()).reduce((n, e) => n + e.length, 0),
    };
    // The verdict, one JSON line on stdout (jest's own output goes to stderr).
    process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stderr.write(`chaos: ${events.length} events: ${events.join(', ')}\n`);

    expect({ lost: verdict.missing.length, leftInCache: verdict.inCache.length, deletedPrematurely: verdict.deletedPrematurely }).toEqual({ lost: 0, leftInCache: 0, deletedPrematurely: [] });
    expect(verdict.deadLettered).toEqual(Object.fromEntries(Object.keys(verdict.deadLettered).map((q) => [q, 0])));
    expect(verdict.clowder).toMatchObject({ duplicates: 0, files: expected.length, distinctFilePaths: expected.length });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    expect(verdict.globus.duplicateLabels).toEqual([]);
    expect(verdict.ledger.unexplained).toEqual([]);
    expect(clean(verdict)).toBe(true);
    // A sanity floor (the writer did real work), low enough for a loaded machine.
    expect(expected.length).toBeGreaterThan(SECONDS * 2);
    expect(line.killed_uploads).toBeGreaterThan(0);
    expect(line.rewrites).toBeGreaterThan(0);
    expect(line.rotations).toBeGreaterThan(0);
    // A kill comes every 2–4 s plus up to 1.3 s: at least one per 10 s of chaos (the long form: at least 50).
    expect(counts.kills).toBeGreaterThanOrEqual(LONG ? Math.max(50, Math.floor(SECONDS / 10)) : Math.floor(SECONDS / 10));
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-15).join('\n')}`).join('\n');
    const v = verdict && { ...verdictSummary(verdict), deadLettered: verdict.deadLettered, missing: verdict.missing.slice(0, 10), inCache: verdict.inCache.slice(0, 10), unsettled: verdict.ledger.unsettled.slice(0, 10), transferredTooOften: verdict.globus.pathsTransferredTwice.slice(0, 10), ownExits: Object.fromEntries(Object.entries(stack.ownExits()).map(([s, e]) => [s, e.map((x) => x.tail.split('\n').slice(-2).join(' | '))])) };
    throw new Error(`${String(err)}\nchaos: ${events.join(', ')}\nverdict: ${JSON.stringify(v)}\ndead letters: ${JSON.stringify(verdict ? await deadLetterSample(stack, verdict).catch((e) => String(e)) : [])}\n${logs}\n--- private RabbitMQ:\n${await rabbit.logTail(15)}`, { cause: err });
  } finally {
    await stack.killAll();
    await Promise.all([rabbit.stop(), redis.stop()]);
    if (KEEP_LOGS) process.stderr.write(`chaos: logs kept in ${dir.path}/logs\n`);
    else await dir.remove();
  }
}, (SECONDS + 300) * 1000);
