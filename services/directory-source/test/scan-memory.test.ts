import { mkdir, writeFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { deleteKeys, deleteTopology, tempDir, uniquePrefix } from '@terra-transfer/testkit';
import { Harness, metric } from './helpers.js';

const FILES = 50_000;
const DIRS = 100;
const CAP = 1_000;

let h: Harness;
let dir: { path: string; remove: () => Promise<void> };
const prefix = uniquePrefix('dirsrc-mem');

beforeAll(async () => {
  dir = await tempDir('dirsrc-mem');
  for (let d = 0; d < DIRS; d++) {
    await mkdir(`${dir.path}/runs/d${d}`, { recursive: true });
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < FILES / DIRS; i++) writes.push(writeFile(`${dir.path}/runs/d${d}/file-with-a-longish-name-${i}.dat`, ''));
    await Promise.all(writes);
  }
  h = new Harness(prefix);
  await h.start();
}, 120_000);

afterAll(async () => {
  await h.close();
  await deleteTopology(prefix);
  await deleteKeys(prefix);
  await dir.remove();
});

/** A full GC (jest runs without --expose-gc): what the heap retains, not the garbage RSS still holds. */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

it(`scans ${FILES} files holding at most the settling cap (${CAP}), with bounded RSS`, async () => {
  // Nothing settles during the test (1 h): every file is looked up and decided, and only the cap is tracked.
  // Scans only: chokidar's own start-up walk holds state per file (docs/performance.md); this measures the source's.
  const { source, registry } = h.source({ root: dir.path, settleMs: 3_600_000, maxSettling: CAP, chunk: 500, watch: false });
  const heapBase = heapAfterGc();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  await source.tick(true);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const retainedMb = (heapAfterGc() - heapBase) / 2 ** 20;
  console.log(`directory-source scan: ${FILES} files in ${seconds.toFixed(1)} s, RSS ${(base / 2 ** 20).toFixed(0)} MB -> peak ${(peak / 2 ** 20).toFixed(0)} MB, heap retained after GC +${retainedMb.toFixed(1)} MB, settling ${source.settlingCount()}`);
  expect(source.settlingCount()).toBe(CAP);
  expect(await metric(registry, 'terra_transfer_directory_files_seen_total', { verdict: 'deferred' })).toBe(FILES - CAP);
  expect(await metric(registry, 'terra_transfer_directory_files_seen_total', { verdict: 'settling' })).toBe(CAP);
  // What stays is the capped settling set and the watched folders, not the tree: 50,000 paths held would be ~10 MB.
  expect(retainedMb).toBeLessThan(5);
}, 180_000);
