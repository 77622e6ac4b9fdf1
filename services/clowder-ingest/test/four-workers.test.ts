import { mkdir, writeFile } from 'node:fs/promises';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { join } from 'node:path';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { AMQP_URL, deleteKeys, deleteTopology, queueDepth, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { COMM_KEY, INGEST_MAIN, startProcess, startSim, transferred, type Proc } from './helpers.js';

/**
 * The acceptance test of issue 7: 4 ingest processes fed the same files, every
 * event delivered twice, 5% of Clowder requests answered 504 (half of them
 * after Clowder did the work), and one worker SIGKILLed mid-run and replaced.
 * Exactly one collection per level, one dataset per timestamp, one file per
 * path, one metadata record per dataset.
 * CLOWDER_INGEST_TEST_FILES lowers the count on a slow machine (default 10,000).
 */
const FILES = Number(process.env['CLOWDER_INGEST_TEST_FILES'] ?? 10_000);
const WORKERS = 4;
const FILES_PER_DATASET = 10;

interface Layout {
  rels: string[];
  metadataRels: string[];
  collections: Set<string>;
  datasets: Set<string>;
}

/** Timestamp datasets for two sensors, date datasets for EnvironmentLogger, across two months; names built here by hand. */
function layout(n: number): Layout {
  const out: Layout = { rels: [], metadataRels: [], collections: new Set(), datasets: new Set() };
  const sensors = ['stereoTop', 'flirIrCamera', 'EnvironmentLogger'];
  for (let i = 0; out.rels.length < n; i++) {
    const sensor = sensors[i % 3]!;
    const day = new Date(Date.UTC(2017, 5, 20) + Math.floor(i / 30) * 86_400_000).toISOString().slice(0, 10);
    const [y, m] = day.split('-');
    out.collections.add(sensor).add(`${sensor} - ${y}`).add(`${sensor} - ${y}-${m}`);
    if (sensor === 'EnvironmentLogger') {
      out.datasets.add(`${sensor} - ${day}`);
      for (let f = 0; f < FILES_PER_DATASET && out.rels.length < n; f++) out.rels.push(`raw_data/${sensor}/${day}/${day}_${String(i).padStart(5, '0')}-${f}_environmentlogger.json`);
      continue;
    }
    const ts = `${day}__${String(i % 24).padStart(2, '0')}-${String(i % 60).padStart(2, '0')}-${String(i % 7).padStart(2, '0')}-${String(i).padStart(3, '0').slice(-3)}`;
    out.collections.add(`${sensor} - ${day}`);
    out.datasets.add(`${sensor} - ${ts}`);
    for (let f = 0; f < FILES_PER_DATASET && out.rels.length < n; f++) {
      const rel = f === 0 ? `raw_data/${sensor}/${day}/${ts}/${ts}_metadata.json` : `raw_data/${sensor}/${day}/${ts}/${ts}_${f}.bin`;
      if (f === 0) out.metadataRels.push(rel);
      out.rels.push(rel);
    }
  }
  return out;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe(`clowder-ingest: ${WORKERS} workers × ${FILES} files, every event twice, 5% 504s, one worker killed`, () => {
  const prefix = uniquePrefix('clowder-4w');
  const t = topology(prefix);
  let sim: Awaited<ReturnType<typeof startSim>>;
  let dest: Awaited<ReturnType<typeof tempDir>>;
  const workers: Proc[] = [];
  let publisher: AmqpClient;

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await publisher?.close(1_000);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await sim?.close();
    await dest?.remove();
  });

  it('leaves exactly one collection per level, one dataset per timestamp, one file per path', async () => {
    const plan = layout(FILES);
    dest = await tempDir('clowder-4w');
    for (const rel of plan.metadataRels) {
      await mkdir(join(dest.path, rel, '..'), { recursive: true });
      await writeFile(join(dest.path, rel), JSON.stringify({ gantry: { file: rel } }));
    }
    await writeFile(join(dest.path, 'sites.yaml'), stringifySites([testSite({ cacheRoot: '/gantry/cache', destinationRoot: dest.path })]));
    sim = await startSim({ CLOWDER_SIM_FAULT_RATE: '0.05', CLOWDER_SIM_FAULT_STATUS: '504', CLOWDER_SIM_FAULT_PHASE: 'either' });
    const env = {
      AMQP_PREFIX: prefix,
      REDIS_PREFIX: prefix,
      AMQP_DELIVERY_LIMIT: '20',
      CLOWDER_URL: sim.url,
      CLOWDER_KEY: COMM_KEY,
      CLOWDER_RETRY_BASE_MS: '20',
      SITES_FILE: join(dest.path, 'sites.yaml'),
      INGEST_PREFETCH: '250',
      INGEST_BATCH_WINDOW_MS: '100',
      // A killed worker's locks free after this; live holders renew theirs.
      INGEST_LOCK_TTL_MS: '3000',
      LOG_LEVEL: 'warn',
    };
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startProcess(INGEST_MAIN, env, '/readyz')))));

    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'clowder-4w-publisher', logger: testLogger(), registry: createRegistry(), deliveryLimit: 20, sites: ['ua-mac'] });
    await publisher.start();
    const events = plan.rels.map((rel) => transferred('ua-mac', join(dest.path, rel)));
    const started = Date.now();
    // Every event twice, the second copy in another order, so duplicates meet on different workers at different times.
    const deliveries = [...shuffle([...events]), ...shuffle([...events])];
    for (let i = 0; i < deliveries.length; i += 500) await Promise.all(deliveries.slice(i, i + 500).map((e) => publisher.publish(e)));

    // Mid-run, one worker dies without warning (locks held, uploads in flight, intents written) and a new one takes its place.
    await waitFor('a third of the deliveries handled', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= deliveries.length / 3, 150_000, 200);
    await workers[0]!.stop('SIGKILL');
    workers[0] = await startProcess(INGEST_MAIN, env, '/readyz');
    await waitFor('every delivery handled', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= deliveries.length, 150_000, 500);
    const seconds = (Date.now() - started) / 1000;
    expect(await queueDepth(AMQP_URL, t.queue('ingestTransfers'))).toBe(0);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
    const codes = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
    expect(codes).toEqual(Array(WORKERS).fill(0));

    const s = await sim.summary();
    expect(s.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    expect(s.counts).toEqual({
      spaces: 1,
      collections: plan.collections.size,
      datasets: plan.datasets.size,
      files: FILES,
      distinctFilePaths: FILES,
      metadata: plan.metadataRels.length,
      datasetsWithMetadata: plan.metadataRels.length,
    });
    expect(s.filesInDatasets).toBe(FILES);
    const injected = await metric(sim.url, 'terra_transfer_clowder_sim_faults_injected_total');
    expect(injected).toBeGreaterThan(0);
    process.stderr.write(`four-workers: ${FILES} files × 2 deliveries in ${seconds.toFixed(1)} s, ${injected} injected 504s, ${plan.datasets.size} datasets, ${plan.collections.size} collections\n`);
  }, 240_000);
});
