/**
 * Worker-thread side of the sweep walk (see walk-source.ts). Walks with
 * synchronous calls (fast, and harmless here: this thread does nothing else),
 * keeps the young files to itself (only counted) and posts the old ones in
 * chunks, waiting for a credit from the main thread before each post so the
 * queue between the threads stays bounded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { walkWhitelisted, type WalkStats, type WalkedFile } from './walker.js';
import type { WalkerInit, WalkMessage } from './walk-source.js';

const init = workerData as WalkerInit;
const credits = new Int32Array(init.credits);
const stats: WalkStats = { unreadableDirs: 0, skippedSpecial: 0, hidden: 0 };
const unreadable: string[] = [];
let scanned = 0;
let young = 0;
let oldestYoungMtimeMs: number | null = null;
let batch: WalkedFile[] = [];
let sinceFlush = 0;

const post = (msg: WalkMessage) => parentPort!.postMessage(msg);

function flush(): void {
  // Wait for a credit: the main thread returns one per chunk it has taken.
  while (Atomics.load(credits, 0) <= 0) Atomics.wait(credits, 0, Atomics.load(credits, 0), 1000);
  Atomics.sub(credits, 0, 1);
  post({ type: 'chunk', files: batch, scanned, young, oldestYoungMtimeMs, stats: { ...stats }, unreadable: [...unreadable] });
  batch = [];
  sinceFlush = 0;
}

for (const f of walkWhitelisted(init.realRoot, init.whitelist, stats, unreadable)) {
  scanned++;
  sinceFlush++;
  if (init.now - f.mtimeMs > init.minAgeMs) {
    batch.push(f);
    if (batch.length >= init.chunk) flush();
  } else {
    young++;
    if (oldestYoungMtimeMs === null || f.mtimeMs < oldestYoungMtimeMs) oldestYoungMtimeMs = f.mtimeMs;
    // Progress (and a chance to stop) through long stretches of young files.
    if (sinceFlush >= init.chunk * 50) flush();
  }
}
if (batch.length) flush();
post({ type: 'done', scanned, young, oldestYoungMtimeMs, stats: { ...stats }, unreadable: [...unreadable] });
