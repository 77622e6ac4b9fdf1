import { Worker } from 'node:worker_threads';
import type { WalkStats, WalkedFile } from './walker.js';

export interface WalkerInit {
  realRoot: string;
  whitelist: readonly string[];
  minAgeMs: number;
  now: number;
  /** Old files per chunk. */
  chunk: number;
  /** One Int32: chunks the worker may post before the main thread takes them. */
  credits: SharedArrayBuffer;
}

interface Totals {
  scanned: number;
  young: number;
  oldestYoungMtimeMs: number | null;
  stats: WalkStats;
  /** The first few directories that could not be read, as `<path>: <reason>` (all are counted in stats). */
  unreadable: string[];
}

/** Running totals ride along with each chunk, so progress is current. */
export type WalkMessage = ({ type: 'chunk'; files: WalkedFile[] } & Totals) | ({ type: 'done' } & Totals);

export interface WalkParams {
  realRoot: string;
  whitelist: readonly string[];
  minAgeMs: number;
  now: number;
  chunk: number;
  /** Chunks allowed in the queue between the threads. */
  maxQueued?: number;
  /** Stops the walk at once (the generator then ends with an error the caller ignores). */
  signal?: AbortSignal;
}

/**
 * The worker must be JavaScript: from the compiled service it sits next to
 * this file; from the sources (jest), the compiled one in dist/ is used
 * (`make test` builds first).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/adapters/walk-worker.js', here) : new URL('./walk-worker.js', here);
}

/**
 * Walks the whitelisted cache in a worker thread and yields chunks of old
 * files (young ones are only counted there). The walk's synchronous file
 * system calls never block this thread, so deletions, HTTP and the lock
 * refresh go on during a sweep, and the walk runs beside the ledger lookups
 * and publishes on the second core. Memory: at most `maxQueued` chunks wait
 * between the threads. Leaving the loop early terminates the worker.
 */
export async function* walkOldFiles(p: WalkParams): AsyncGenerator<WalkMessage> {
  const credits = new SharedArrayBuffer(4);
  const counter = new Int32Array(credits);
  Atomics.store(counter, 0, p.maxQueued ?? 4);
  const init: WalkerInit = { realRoot: p.realRoot, whitelist: [...p.whitelist], minAgeMs: p.minAgeMs, now: p.now, chunk: p.chunk, credits };
  // Small heap limits: the walker keeps one chunk and one directory listing per level; a bigger young generation only grows RSS.
  const worker = new Worker(workerUrl(), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 128 } });
  const queue: WalkMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  worker.on('message', (m: WalkMessage) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  const stop = () => void worker.terminate();
  p.signal?.addEventListener('abort', stop, { once: true });
  worker.on('exit', (code) => {
    exited = true;
    if (code !== 0) failure ??= new Error(`sweep walker exited with code ${code}`);
    wake?.();
  });
  try {
    for (;;) {
      const m = queue.shift();
      if (m) {
        yield m;
        if (m.type === 'done') return;
        // The chunk was taken: the worker may post another.
        Atomics.add(counter, 0, 1);
        Atomics.notify(counter, 0);
        continue;
      }
      if (failure) throw failure;
      if (exited) throw new Error('sweep walker exited before it finished');
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    p.signal?.removeEventListener('abort', stop);
    if (!exited) await worker.terminate();
  }
}
