import { ClowderClient } from '@terra-transfer/clowder';
import { closeRedis, createRedis, createRegistry, sleep, type Redis } from '@terra-transfer/platform';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { Hierarchy } from '../src/adapters/hierarchy.js';
import { Ledger } from '../src/adapters/ledger.js';
import { ingestTelemetry } from '../src/telemetry.js';
import { COMM_KEY, startSim } from './helpers.js';

/**
 * Two sites that hold the same sensor (the demo's two drone sites) build the
 * same collection names. Clowder is searched by name across all spaces, so
 * the second site finds the first site's collections and links them into its
 * own space: from then on both sites create their next level under the SAME
 * parent, which already carries both spaces. Each site's worker must then
 * exclude the other while it looks the name up and creates it; a lock keyed
 * by the worker's own space did not (the demo-fourth-site failure: two
 * `drone - 2026-06-01` under one `drone - 2026-06`, in the same spaces).
 * The interleaving is forced: site A's creation waits until site B has looked
 * the name up (or 2 s, when B is rightly kept out by the lock).
 */
describe('hierarchy: two sites creating the same collection at once', () => {
  const prefix = uniquePrefix('clowder-race');
  let redis: Redis;
  let sim: Awaited<ReturnType<typeof startSim>>;
  beforeAll(async () => {
    redis = createRedis({ url: REDIS_URL, connectionName: 'race-test', logger: testLogger() });
    sim = await startSim();
  });
  afterAll(async () => {
    await sim.close();
    await deleteKeys(prefix);
    await closeRedis(redis);
  });

  const worker = (clowder: ClowderClient) =>
    new Hierarchy(clowder, new Ledger(redis, prefix, 30_000, 20_000), ingestTelemetry(testLogger(), createRegistry()), { attempts: 3, retryBaseMs: 10 });

  it('one collection per name and place, whichever site gets there first', async () => {
    const LEAF = 'drone - 2026-06-01';
    const parents = ['drone', 'drone - 2026', 'drone - 2026-06'];
    const clientA = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    const clientB = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    let bLookedUp!: () => void;
    const bLooked = new Promise<void>((r) => (bLookedUp = r));
    // Site A stalls between its lookup (nothing found) and its creation, until B has looked the name up too.
    const createA = clientA.createCollectionWithParent.bind(clientA);
    clientA.createCollectionWithParent = async (body) => {
      if (body.name === LEAF) await Promise.race([bLooked, sleep(2_000)]);
      return createA(body);
    };
    const findB = clientB.findCollections.bind(clientB);
    clientB.findCollections = async (name) => {
      const found = await findB(name);
      if (name === LEAF) bLookedUp();
      return found;
    };
    const a = worker(clientA);
    const b = worker(clientB);
    const spaceA = await a.space('ksu-drone');
    const spaceB = await b.space('ksu-drone-2');
    // The parents exist once, in both spaces (B found A's and linked them).
    const chainA = await a.collections(parents, spaceA);
    expect(await b.collections(parents, spaceB)).toEqual(chainA);

    const [leafA, leafB] = await Promise.all([a.collections([...parents, LEAF], spaceA), b.collections([...parents, LEAF], spaceB)]);

    expect(leafA[3]).toBe(leafB[3]);
    const summary = await sim.summary();
    expect(summary.duplicates.collections).toEqual([]);
    const leaves = await clientA.findCollections(LEAF);
    expect(leaves.map((c) => c.id)).toEqual([leafA[3]]);
    // Nothing lost: the one leaf sits under the shared parent and in both sites' spaces.
    const leaf = await clientA.getCollection(leafA[3]!);
    expect(leaf.parentCollectionIds).toEqual([chainA[2]]);
    expect([...leaf.spaces].sort()).toEqual([spaceA, spaceB].sort());
    clientA.close();
    clientB.close();
  }, 60_000);

  /**
   * A holder frozen past the lock's TTL (GC pause, CPU starvation: its
   * renewals did not run) between its lookup (nothing found) and its
   * creation. Another worker of the same site takes the expired lock, creates
   * and records the collection. The frozen one wakes with a stale "nothing
   * found": it must see that its lock is gone and look again, not create.
   */
  it('a holder that stalled past the lock TTL looks again instead of creating a second one', async () => {
    const LEAF = 'rgb - 2026-06-02';
    const parents = ['rgb', 'rgb - 2026', 'rgb - 2026-06'];
    const clientA = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    const clientB = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    let aLookedUp!: () => void;
    const aLooked = new Promise<void>((r) => (aLookedUp = r));
    let bDone!: () => void;
    const bFinished = new Promise<void>((r) => (bDone = r));
    let stalled = false;
    const findA = clientA.findCollections.bind(clientA);
    clientA.findCollections = async (name) => {
      const found = await findA(name);
      if (name === LEAF && !stalled) {
        stalled = true;
        // The freeze: no renewal runs, the lock expires, B gets in and finishes (or 5 s pass).
        await redis.pexpire(`${prefix}:clowder-ingest:lock:collection:${LEAF}`, 1);
        aLookedUp();
        await Promise.race([bFinished, sleep(5_000)]);
      }
      return found;
    };
    const a = worker(clientA);
    const b = worker(clientB);
    const space = await a.space('ksu-drone');
    const chain = await a.collections(parents, space);

    const pa = a.collections([...parents, LEAF], space);
    await aLooked;
    const pb = b.collections([...parents, LEAF], space).finally(() => bDone());
    const [leafA, leafB] = await Promise.all([pa, pb]);

    expect(leafA[3]).toBe(leafB[3]);
    expect((await sim.summary()).duplicates.collections).toEqual([]);
    expect((await clientA.findCollections(LEAF)).map((c) => c.id)).toEqual([leafB[3]]);
    expect((await clientA.getCollection(leafB[3]!)).parentCollectionIds).toEqual([chain[2]]);
    clientA.close();
    clientB.close();
  }, 60_000);

  /**
   * The freeze falls inside the creation request, after the token check:
   * Clowder takes no token, so two records are made. The frozen one, whose
   * record is the newer, must converge on the other's (with its links) and
   * delete its own, which nothing can be in yet.
   */
  it('a creation that lands after the lock was lost is converged and its duplicate deleted', async () => {
    const LEAF = 'nir - 2026-06-03';
    const parents = ['nir', 'nir - 2026', 'nir - 2026-06'];
    const clientA = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    const clientB = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    let aSending!: () => void;
    const aSent = new Promise<void>((r) => (aSending = r));
    let bDone!: () => void;
    const bFinished = new Promise<void>((r) => (bDone = r));
    const createA = clientA.createCollectionWithParent.bind(clientA);
    clientA.createCollectionWithParent = async (body) => {
      if (body.name === LEAF) {
        await redis.pexpire(`${prefix}:clowder-ingest:lock:collection:${LEAF}`, 1);
        aSending();
        await Promise.race([bFinished, sleep(5_000)]);
      }
      return createA(body);
    };
    const a = worker(clientA);
    const b = worker(clientB);
    const space = await a.space('ksu-drone');
    const chain = await a.collections(parents, space);

    const pa = a.collections([...parents, LEAF], space);
    await aSent;
    const pb = b.collections([...parents, LEAF], space).finally(() => bDone());
    const [leafA, leafB] = await Promise.all([pa, pb]);

    expect(leafA[3]).toBe(leafB[3]);
    expect((await sim.summary()).duplicates.collections).toEqual([]);
    expect((await clientA.findCollections(LEAF)).map((c) => c.id)).toEqual([leafB[3]]);
    const leaf = await clientA.getCollection(leafB[3]!);
    expect(leaf.parentCollectionIds).toEqual([chain[2]]);
    expect(leaf.spaces).toEqual([space]);
    expect((await clientA.childCollections(chain[2]!)).map((c) => c.id)).toEqual([leafB[3]]);
    clientA.close();
    clientB.close();
  }, 60_000);
});
