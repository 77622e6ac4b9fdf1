/**
 * The pipeline under chaos: while the gantry uploads (with log rotations), a
 * driver kill -9s a random service every few seconds and restarts it, and
 * restarts RabbitMQ and Redis once each (private instances: a RabbitMQ node of
 * its own, a Redis with AOF). At the end: zero files lost, zero premature
 * deletions, zero duplicate Clowder files or datasets, zero duplicate Globus
 * tasks (no file moved twice).
 *
 * CI runs the short form; `make chaos` runs CHAOS_SECONDS=600.
 */
import { Gantry, clean, localStack, prepareLayout, verify, type ServiceName, type Verdict } from '@terra-transfer/stack';
import { freePort, startPrivateRabbit, startPrivateRedis, tempDir, uniquePrefix } from '@terra-transfer/testkit';

const SECONDS = Number(process.env['CHAOS_SECONDS'] ?? 40);
const VICTIMS: ServiceName[] = ['log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest'];

it(`loses nothing, deletes nothing early and duplicates nothing under ${SECONDS} s of kill -9`, async () => {
  const dir = await tempDir('chaos');
  const rabbit = await startPrivateRabbit();
  const redis = await startPrivateRedis();
  const ports = Object.fromEntries(await Promise.all(['globus-sim', 'clowder-sim', ...VICTIMS].map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
  const { stack, layout } = localStack({
    workDir: dir.path, prefix: uniquePrefix('chaos'), amqpUrl: rabbit.url, redisUrl: redis.url, ports, logLevel: 'warn',
    env: {
      batcher: { BATCH_MAX_FILES: '50', BATCH_MAX_WAIT_MS: '1000', SHUTDOWN_DRAIN_MS: '2000' },
      watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '2000' },
      'log-tailer': { ROTATE_WAIT_MS: '5000' },
    },
  });
  await prepareLayout(layout);
  const events: string[] = [];
  let verdict: Verdict | undefined;
  try {
    await stack.start();
    const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: 60, keep: 100, seed: 1234 });
    const until = Date.now() + SECONDS * 1000;
    const writer = (async () => {
      while (Date.now() < until) {
        await gantry.dataset();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const chaos = (async () => {
      let brokerRestarted = false;
      let redisRestarted = false;
      const started = Date.now();
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 2_000));
        const elapsed = (Date.now() - started) / (SECONDS * 1000);
        if (!brokerRestarted && elapsed > 0.3) {
          brokerRestarted = true;
          events.push(`${Math.round((Date.now() - started) / 1000)}s restart RabbitMQ`);
          await rabbit.restart();
          continue;
        }
        if (!redisRestarted && elapsed > 0.6) {
          redisRestarted = true;
          events.push(`${Math.round((Date.now() - started) / 1000)}s restart Redis (kill -9, AOF)`);
          await redis.restart();
          continue;
        }
        const victim = VICTIMS[Math.floor(Math.random() * VICTIMS.length)]!;
        events.push(`${Math.round((Date.now() - started) / 1000)}s kill -9 ${victim}`);
        await stack.kill9(victim);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 1_000));
        await stack.restart(victim);
      }
    })();
    await Promise.all([writer, chaos]);
    // Everything is up again; let the pipeline drain.
    for (const s of VICTIMS) await stack.restart(s);
    const expected = gantry.expected();
    const deadline = Date.now() + 180_000;
    do {
      await new Promise((r) => setTimeout(r, 2_000));
      verdict = await verify(stack, layout, expected);
    } while ((verdict.missing.length || verdict.inCache.length || verdict.clowder.distinctFilePaths < expected.length) && Date.now() < deadline);
    verdict = await verify(stack, layout, expected, { globusDetail: true });
    expect({ lost: verdict.missing.length, leftInCache: verdict.inCache.length, deletedPrematurely: verdict.deletedPrematurely }).toEqual({ lost: 0, leftInCache: 0, deletedPrematurely: [] });
    expect(verdict.clowder).toMatchObject({ duplicates: 0, files: expected.length, distinctFilePaths: expected.length });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    expect(verdict.globus.duplicateLabels).toEqual([]);
    expect(clean(verdict)).toBe(true);
    expect(expected.length).toBeGreaterThan(SECONDS * 3);
    process.stderr.write(`chaos: ${expected.length} uploads, ${verdict.globus.tasks} Globus tasks, ${verdict.clowder.datasets} datasets; ${events.length} events: ${events.join(', ')}\n`);
    // A kill, its restart and the pause between take 3–7 s: at least one per 10 s of chaos.
    expect(events.filter((e) => e.includes('kill -9')).length).toBeGreaterThanOrEqual(Math.floor(SECONDS / 10));
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-15).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\nchaos: ${events.join(', ')}\nverdict: ${JSON.stringify({ ...verdict, missing: verdict?.missing.slice(0, 10), inCache: verdict?.inCache.slice(0, 10) })}\n${logs}\n--- private RabbitMQ:\n${await rabbit.logTail(15)}`);
  } finally {
    await stack.killAll();
    await Promise.all([rabbit.stop(), redis.stop()]);
    await dir.remove();
  }
}, (SECONDS + 240) * 1000);
