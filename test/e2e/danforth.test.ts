/**
 * The Danforth site end to end: a test Scanalyzer on the machine's
 * PostgreSQL, the lemnatec source, batcher → Globus simulator → watcher →
 * clowder-ingest → Clowder simulator. One dataset per snapshot named as the
 * original (two for two snapshots of one instant) in its experiment's
 * collection, its metadata attached, all
 * its images registered; a missing blob reported as file.failed while the
 * other snapshots go through; the staging area emptied once files arrived.
 */
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { ClowderClient } from '@terra-transfer/clowder';
import { CLOWDER_COMM_KEY, LEMNATEC_DB_URL_ENV, TestScanalyzer, lemnatecSite, localProcesses, localStack, prepareLayout, writeSitesFile } from '@terra-transfer/stack';
import { loadSites } from '@terra-transfer/sites';
import { deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}

/** The broker: the machine's, or another (TEST_AMQP_URL, e.g. a private node while the shared one is unavailable). */
const AMQP = process.env['TEST_AMQP_URL'];

it('danforth: snapshots become datasets named as the original, metadata first, a missing blob reported, staging emptied', async () => {
  const dir = await tempDir('e2e-danforth');
  const prefix = uniquePrefix('e2edf');
  const db = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);
  const work = join(dir.path, 'work');
  const lt = await TestScanalyzer.create({ systemDb: `${db}_sys`, blobRoot: join(dir.path, 'blobs'), small: true });
  const sitesFile = writeSitesFile(join(dir.path, 'conf'), [lemnatecSite(work, { name: 'danforth', index: 7, blobRoot: join(dir.path, 'blobs') })]);
  const sites = loadSites(sitesFile);
  const ports = Object.fromEntries(await Promise.all(localProcesses(sites, false).map(async (p) => [p.name, await freePort()])));
  const { stack, layout } = localStack({
    workDir: work, prefix, ports, sitesFile, logLevel: 'warn', ...(AMQP ? { amqpUrl: AMQP } : {}),
    env: { 'lemnatec-source': { [LEMNATEC_DB_URL_ENV]: lt.systemUrl, BLOB_ATTEMPTS: '2' } },
  });
  await prepareLayout(layout);
  let clowder: ClowderClient | undefined;
  try {
    await lt.addExperiment(`${db}_exp`);
    await stack.start();
    clowder = new ClowderClient({ url: stack.url('clowder-sim'), key: CLOWDER_COMM_KEY, retries: 3, retryBaseMs: 50, retryMaxMs: 500 });
    const time = new Date('2026-05-03T14:15:16.007Z');
    const a = await lt.snapshot(`${db}_exp`, { time });
    const b = await lt.snapshot(`${db}_exp`, { time });
    const c = await lt.snapshot(`${db}_exp`, { pieceDelayMs: 100, faults: { NIR_TV_z1_h1_g0_e35: 'missing' }, measurementLabel: 'Drought 2026' });
    const names = ['ddpscIndoorSuite - 2026-05-03__14-15-16-007', 'ddpscIndoorSuite - 2026-05-03__14-15-16-007_2'];
    const cName = `ddpscIndoorSuite - ${c.time.toISOString().slice(0, 10)}__${c.time.toISOString().slice(11, 23).replace(/[:.]/g, '-')}`;
    const expected: Record<string, number> = { [names[0]!]: 11, [names[1]!]: 11, [cName]: 10 };
    await waitFor('every file registered', async () => {
      for (const [name, n] of Object.entries(expected)) {
        const [ds] = await clowder!.findDatasets(name);
        if (!ds || (await clowder!.listFiles(ds.id)).length < n) return false;
      }
      return true;
    }, 120_000, 500);
    const ids = new Set<number>();
    for (const [name, n] of Object.entries(expected)) {
      const found = await clowder.findDatasets(name);
      expect(found).toHaveLength(1);
      const files = await clowder.listFiles(found[0]!.id);
      expect(files).toHaveLength(n);
      const md = await clowder.datasetMetadata(found[0]!.id);
      expect(md).toHaveLength(1);
      const content = md[0]!.content as { snapshot_id: number; species: string; images: Record<string, unknown> };
      expect(content.species).toBe('Sorghum bicolor');
      expect(Object.keys(content.images)).toHaveLength(10);
      ids.add(content.snapshot_id);
    }
    expect([...ids].sort()).toEqual([a.id, b.id, c.id].sort());
    // Each snapshot's dataset is in its experiment's collection (the measurement label), not in sensor/date collections.
    const inCollection = async (name: string) => {
      const found = await clowder!.findCollections(name);
      expect(found.length).toBeLessThanOrEqual(1);
      return found[0] ? (await clowder!.collectionDatasets(found[0].id)).map((d) => d.name).sort() : [];
    };
    expect(await inCollection('Bellwether_2026')).toEqual([...names].sort());
    expect(await inCollection('Drought 2026')).toEqual([cName]);
    expect(await clowder.findCollections('ddpscIndoorSuite')).toEqual([]);
    // The missing blob: given up and counted; its snapshot's other nine images and metadata went through.
    expect(await stack.metric('lemnatec-source', 'terra_transfer_lemnatec_images_failed_total', { reason: 'BLOB_MISSING' })).toBe(1);
    // Images were never registered before their dataset's metadata: every wait is the ingest's (retries counted, none dead-lettered).
    expect(await stack.metric('clowder-ingest', 'terra_transfer_messages_consumed_total', { outcome: 'dead_lettered' })).toBe(0);
    // Staging emptied once the ledger says the files arrived.
    await waitFor('staging emptied', async () => (await countFiles(join(work, 'staging', 'danforth'))) === 0, 30_000, 500);
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\n${logs}`, { cause: err });
  } finally {
    clowder?.close();
    await stack.killAll();
    await deleteTopology(prefix, AMQP).catch(() => undefined);
    await deleteKeys(prefix).catch(() => undefined);
    await lt.drop().catch(() => undefined);
    await dir.remove();
  }
}, 240_000);
