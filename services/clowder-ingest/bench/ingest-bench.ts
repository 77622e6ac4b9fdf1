/**
 * make bench-clowder: files registered in Clowder per second by clowder-ingest
 * against the simulator at its default latency (3 ms per request), with the
 * real RabbitMQ and Redis. The events are queued first; the clock runs from
 * the moment the workers are ready until every file.ingested is confirmed.
 * Prints one JSON line. Knobs: BENCH_FILES, BENCH_WORKERS, BENCH_FILES_PER_DATASET, BENCH_PREFETCH.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { AMQP_URL, deleteKeys, deleteTopology, queueDepth, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { COMM_KEY, INGEST_MAIN, startProcess, startSim, transferred, type Proc } from '../test/helpers.js';

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const FILES = num('BENCH_FILES', 20_000);
const WORKERS = num('BENCH_WORKERS', 2);
const PER_DATASET = num('BENCH_FILES_PER_DATASET', 10);
const PREFETCH = num('BENCH_PREFETCH', 500);

async function main(): Promise<void> {
  const prefix = uniquePrefix('bench-clowder');
  const t = topology(prefix);
  const dest = await tempDir('bench-clowder');
  const sim = await startSim();
  const workers: Proc[] = [];
  const publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'bench-clowder', logger: testLogger(), registry: createRegistry(), sites: ['ua-mac'] });
  try {
    // stereoTop-like datasets: a metadata.json (read and attached once) plus binary files, 30 datasets a day.
    const rels: string[] = [];
    for (let d = 0; rels.length < FILES; d++) {
      const day = new Date(Date.UTC(2017, 3, 1) + Math.floor(d / 30) * 86_400_000).toISOString().slice(0, 10);
      const ts = `${day}__${String(d % 24).padStart(2, '0')}-${String(d % 60).padStart(2, '0')}-00-${String(d % 1000).padStart(3, '0')}`;
      for (let f = 0; f < PER_DATASET && rels.length < FILES; f++) {
        const rel = f === 0 ? `raw_data/stereoTop/${day}/${ts}/${ts}_metadata.json` : `raw_data/stereoTop/${day}/${ts}/${ts}_${f}.bin`;
        if (f === 0) {
          await mkdir(join(dest.path, rel, '..'), { recursive: true });
          await writeFile(join(dest.path, rel), JSON.stringify({ lemnatec_measurement_metadata: { sensor: 'stereoTop', ts } }));
        }
        rels.push(rel);
      }
    }
    await publisher.start();
    for (let i = 0; i < rels.length; i += 1000) await Promise.all(rels.slice(i, i + 1000).map((rel) => publisher.publish(transferred('ua-mac', join(dest.path, rel)))));

    const env = {
      AMQP_PREFIX: prefix,
      REDIS_PREFIX: prefix,
      CLOWDER_URL: sim.url,
      CLOWDER_KEY: COMM_KEY,
      INGEST_SITES: JSON.stringify({ 'ua-mac': { destinationRoot: dest.path, clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac' } }),
      INGEST_PREFETCH: String(PREFETCH),
      LOG_LEVEL: 'warn',
    };
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startProcess(INGEST_MAIN, env, '/readyz')))));
    const started = Date.now();
    await waitFor('all files ingested', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= FILES, 600_000, 200);
    const seconds = (Date.now() - started) / 1000;
    const summary = await sim.summary();
    const metrics = await (await fetch(`${sim.url}/metrics`)).text();
    const requests = metrics
      .split('\n')
      .filter((l) => l.startsWith('terra_transfer_http_requests_total{') && l.includes('route="/api/'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    if (process.env['BENCH_VERBOSE']) process.stderr.write(`${metrics.split('\n').filter((l) => l.startsWith('terra_transfer_http_requests_total{')).join('\n')}\n`);
    const dups = Object.values(summary.duplicates).reduce((n, xs) => n + xs.length, 0);
    if (summary.counts.files !== FILES || dups !== 0) throw new Error(`bench run is wrong: ${JSON.stringify(summary)}`);
    const line = {
      bench: 'clowder-ingest',
      files_per_sec: Math.round(FILES / seconds),
      files: FILES,
      seconds: Number(seconds.toFixed(2)),
      workers: WORKERS,
      prefetch: PREFETCH,
      files_per_dataset: PER_DATASET,
      datasets: summary.counts.datasets,
      collections: summary.counts.collections,
      sim_latency_ms: 3,
      clowder_requests: requests,
      duplicates: dups,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await publisher.close(1_000);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await sim.close();
    await dest.remove();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-clowder failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
