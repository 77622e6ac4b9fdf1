/**
 * More than one of everything: every consumer runs as competing instances
 * (batcher ×2, watcher ×2, cleaner ×2, clowder-ingest ×3), the log-tailer
 * once. While the gantry uploads, one instance of each consumer is killed
 * with kill -9 and later restarted, so the others take its work over. The
 * guarantees are those of the single-instance pipeline, verified from the
 * outside: every file at the destination, gone from the cache, registered
 * once in Clowder, moved by Globus once, one task per batch label, nothing
 * dead-lettered, no ledger record left unexplained.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Gantry, clean, localProcesses, localStack, prepareLayout, verdictSummary, verify, type Verdict } from '@terra-transfer/stack';
import { freePort, startPrivateRabbit, tempDir, uniquePrefix } from '@terra-transfer/testkit';

const SECONDS = 25;
const INSTANCES = { batcher: 2, watcher: 2, cleaner: 2, 'clowder-ingest': 3 } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('N competing instances of every consumer keep the guarantees while instances are killed and restarted', async () => {
  const dir = await tempDir('instances');
  // A broker of its own: a dozen processes' connections and queues stay off the machine's broker.
  const rabbit = await startPrivateRabbit();
  const prefix = uniquePrefix('inst');
  // Ports for every process of the stack (its own, so it runs beside other tests).
  const probe = localStack({ workDir: dir.path, prefix, ports: new Proxy({}, { get: () => 1 }), instances: INSTANCES });
  const ports = Object.fromEntries(await Promise.all(localProcesses(probe.sites, false, INSTANCES).map(async (p) => [p.name, await freePort()])));
  const { stack, layout } = localStack({
    batch: { maxFiles: 40, maxAgeSeconds: 1 },
    workDir: dir.path, prefix, ports, logLevel: 'info', instances: INSTANCES, amqpUrl: rabbit.url, logFiles: process.env['KEEP_LOGS'] !== undefined,
    env: { watcher: { POLL_MIN_MS: '1000', POLL_MAX_MS: '2000' }, 'log-tailer': { ROTATE_WAIT_MS: '5000' } },
  });
  expect([...stack.procs.keys()].sort()).toEqual(['batcher', 'batcher.2', 'cleaner', 'cleaner.2', 'clowder-ingest', 'clowder-ingest.2', 'clowder-ingest.3', 'clowder-sim', 'globus-sim', 'log-tailer', 'watcher', 'watcher.2']);
  await prepareLayout(layout);
  if (process.env['KEEP_LOGS'] !== undefined) await mkdir(join(dir.path, 'logs'), { recursive: true });
  const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: 60, keep: 100, seed: 4321, killedShare: 0.03, rewriteShare: 0.03 });
  const events: string[] = [];
  let verdict: Verdict | undefined;
  try {
    await stack.start();
    const started = Date.now();
    const until = started + SECONDS * 1000;
    const writer = (async () => {
      while (Date.now() < until) {
        await gantry.dataset();
        await sleep(100);
      }
    })();
    // One instance of each consumer dies mid-run; the others carry on; it comes back later.
    // The watcher killed is the one holding the poll lease, so the other must take the polling over.
    const leaderOf = async (names: string[]) => {
      for (const n of names) if ((await stack.metric(n, 'terra_transfer_watcher_poll_leader').catch(() => 0)) === 1) return n;
      return undefined;
    };
    let survivor = 'watcher.2';
    // What each victim did before it died counts as its share (its counters restart with it).
    const WORK: Record<string, string> = { batcher: 'terra_transfer_batches_submitted_total', 'clowder-ingest': 'terra_transfer_messages_consumed_total' };
    const before = new Map<string, number>();
    const victims = ['clowder-ingest.3', 'watcher', 'cleaner.2', 'batcher.2'];
    const kills = (async () => {
      for (const [i, planned] of victims.entries()) {
        await sleep((SECONDS * 1000) / (victims.length + 2));
        let v = planned;
        if (planned === 'watcher') {
          v = (await leaderOf(['watcher', 'watcher.2'])) ?? 'watcher';
          survivor = v === 'watcher' ? 'watcher.2' : 'watcher';
          victims[i] = v;
        }
        const work = WORK[v.split('.')[0]!];
        if (work) before.set(v, await stack.metric(v, work));
        events.push(`${Math.round((Date.now() - started) / 1000)}s kill -9 ${v}`);
        await stack.kill9(v);
      }
      await sleep(2_000);
      // The dead leader comes back only once the survivor holds the lease (it lapses within two poll intervals + 10 s).
      const takeover = Date.now() + 40_000;
      while ((await leaderOf([survivor])) === undefined && Date.now() < takeover) await sleep(500);
      events.push(`${Math.round((Date.now() - started) / 1000)}s ${survivor} ${(await leaderOf([survivor])) ? 'polls' : 'did not take the poll lease'}`);
      for (const v of victims) await stack.restart(v);
      events.push(`${Math.round((Date.now() - started) / 1000)}s all restarted`);
    })();
    await Promise.all([writer, kills]);
    await gantry.settle();
    const expected = gantry.expected();
    const deadline = Date.now() + 150_000;
    do {
      await sleep(2_000);
      verdict = await verify(stack, layout, expected).catch(() => verdict);
    } while ((!verdict || verdict.missing.length || verdict.inCache.length || verdict.clowder.distinctFilePaths < expected.length) && Date.now() < deadline);
    verdict = await verify(stack, layout, expected, { globusDetail: true });
    process.stderr.write(`instances: ${JSON.stringify({ ...verdictSummary(verdict), events })}\n`);

    expect({ lost: verdict.missing.length, leftInCache: verdict.inCache.length, deletedPrematurely: verdict.deletedPrematurely }).toEqual({ lost: 0, leftInCache: 0, deletedPrematurely: [] });
    expect(verdict.deadLettered).toEqual(Object.fromEntries(Object.keys(verdict.deadLettered).map((q) => [q, 0])));
    expect(verdict.clowder).toMatchObject({ duplicates: 0, files: expected.length, distinctFilePaths: expected.length });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    expect(verdict.globus.duplicateLabels).toEqual([]);
    expect(verdict.ledger.unexplained).toEqual([]);
    expect(clean(verdict)).toBe(true);
    expect(expected.length).toBeGreaterThan(SECONDS * 2);
    // The work was shared: each instance of the batcher and of the ingest did some of it (a victim's share counted before it died and after it came back).
    const share = async (name: string) => (before.get(name) ?? 0) + (await stack.metric(name, WORK[name.split('.')[0]!]!));
    for (const name of ['batcher', 'batcher.2', 'clowder-ingest', 'clowder-ingest.2']) expect({ name, did: (await share(name)) > 0 }).toEqual({ name, did: true });
    // One watcher polls Globus at a time (the poll lease); the leader killed mid-run was replaced by the other, which then closed tasks.
    expect((await stack.metric('watcher', 'terra_transfer_watcher_poll_leader')) + (await stack.metric('watcher.2', 'terra_transfer_watcher_poll_leader'))).toBe(1);
    expect(await stack.metric(survivor, 'terra_transfer_watcher_poll_leader')).toBe(1);
    expect(await stack.metric(survivor, 'terra_transfer_tasks_closed_total')).toBeGreaterThan(0);
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    const v = verdict && { ...verdictSummary(verdict), missing: verdict.missing.slice(0, 5), inCache: verdict.inCache.slice(0, 5), twice: verdict.globus.pathsTransferredTwice.slice(0, 5), labels: verdict.globus.duplicateLabels.slice(0, 5), unexplained: verdict.ledger.unexplained.slice(0, 5) };
    throw new Error(`${String(err)}\nevents: ${events.join(', ')}\nverdict: ${JSON.stringify(v)}\n${logs}`, { cause: err });
  } finally {
    await stack.killAll();
    await rabbit.stop();
    if (process.env['KEEP_LOGS'] === undefined) await dir.remove();
    else process.stderr.write(`instances: logs kept in ${dir.path}/logs\n`);
  }
}, 300_000);
