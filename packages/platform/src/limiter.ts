import PQueue from 'p-queue';

/**
 * The one concurrency limiter of the tree (p-queue underneath): at most
 * `concurrency` tasks run at once. Producers that have many tasks (a sweep's
 * 50,000 publishes, a tailer's lines) wait for `room()` before each `run()`,
 * so a task is created only when it can start: nothing queues up behind the
 * window, and memory stays that of `concurrency` tasks (queueing every task at
 * once keeps a closure and two promises per item alive; decision 0047).
 */
export class Limiter {
  private readonly q: PQueue;

  constructor(readonly concurrency: number) {
    this.q = new PQueue({ concurrency });
  }

  /** Tasks running or waiting to. */
  get size(): number {
    return this.q.pending + this.q.size;
  }

  /** True when a task passed to `run()` now starts at once. */
  get hasRoom(): boolean {
    return this.size < this.concurrency;
  }

  /** Waits until a task can start at once; false when `signal` aborted first (then nothing should start). */
  async room(signal?: AbortSignal): Promise<boolean> {
    while (!this.hasRoom && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.q.off('next', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.q.on('next', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    return !signal?.aborted;
  }

  /** Starts `task` (at once when there is room, else after those before it); resolves or rejects as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.q.add(task);
  }

  /** Resolves when no task runs or waits. */
  idle(): Promise<void> {
    return this.q.onIdle();
  }
}

/**
 * Runs `fn` over `items`, at most `concurrency` at once, each started only
 * when there is room. After a failure no new item starts; rejects with the
 * first failure once those running have finished.
 */
export async function forEachLimit<T>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const limiter = new Limiter(concurrency);
  let failure: { err: unknown } | undefined;
  for (const item of items) {
    await limiter.room();
    if (failure) break;
    limiter.run(() => fn(item)).catch((err: unknown) => {
      failure ??= { err };
    });
  }
  await limiter.idle();
  if (failure) throw failure.err;
}
