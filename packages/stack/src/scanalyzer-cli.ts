/**
 * The test Scanalyzer from the command line (operators trying a lemnatec site, the demo's way by hand):
 *   node packages/stack/dist/scanalyzer-cli.js --system-db lt_system --experiment lt_exp1 --blob-root /tmp/blobs
 *        [--snapshots N] [--every-ms MS] [--small] [--water-column water_amount_g] [--keep]
 * Creates LTSystem (`--system-db`, dropped first if it exists) and the experiment database, then images
 * N plants (default 10), one every MS ms (default 1000), and prints the LTSystem URL for the site's urlEnv variable.
 * Ctrl-C stops; the databases are kept (drop them with DROP DATABASE … WITH (FORCE)).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { TestScanalyzer } from './scanalyzer.js';

const { values: a } = parseArgs({
  options: {
    'system-db': { type: 'string' }, experiment: { type: 'string' }, 'blob-root': { type: 'string' },
    snapshots: { type: 'string', default: '10' }, 'every-ms': { type: 'string', default: '1000' },
    small: { type: 'boolean', default: false }, 'water-column': { type: 'string' },
  },
});
if (!a['system-db'] || !a.experiment || !a['blob-root']) {
  process.stderr.write('usage: scanalyzer-cli --system-db NAME --experiment NAME --blob-root DIR [--snapshots N] [--every-ms MS] [--small] [--water-column NAME]\n');
  process.exit(64);
}
const lt = await TestScanalyzer.create({ systemDb: a['system-db'], blobRoot: a['blob-root'], small: a.small ?? false });
await lt.addExperiment(a.experiment, a['water-column'] ? { waterColumn: a['water-column'] } : {});
process.stdout.write(`${lt.systemUrl}\n`);
const n = Number(a.snapshots);
for (let i = 0; i < n; i++) {
  const s = await lt.snapshot(a.experiment);
  process.stderr.write(`snapshot ${s.id} at ${s.time.toISOString()}: ${s.images.length} images\n`);
  await sleep(Number(a['every-ms']));
}
for (const p of [lt.pool(a['system-db']), lt.pool(a.experiment)]) await p.end();
