import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Metric names all start with this; see STYLE.md (terra_transfer_<noun>_<unit>_total). */
export const METRIC_PREFIX = 'terra_transfer_';

/** A registry per service, with the default process metrics. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Per counter made here: the tallies to fold into it when it is read. */
const talliesOf = new WeakMap<object, Array<() => void>>();

/** Returns the metric already registered under `name`, or creates it: several parts of a service may ask for the same one. */
export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name) as Counter<L> | undefined;
  if (existing) return existing;
  const flush: Array<() => void> = [];
  const c = new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    // prom-client calls this before every read (a scrape, get()): tallies are folded in first.
    collect() {
      for (const f of flush) f();
    },
  });
  talliesOf.set(c, flush);
  return c;
}

/** One series of a counter for a hot path: `inc` adds to a number, the counter takes it when it is read. */
export interface Tally {
  inc(n?: number): void;
}

/**
 * A series of `c` (made by `counter`) counted in a plain number and folded
 * into the counter whenever it is read, so code that counts once per message
 * pays an addition, not prom-client's label hashing. Reads see every
 * increment made before them.
 */
export function tally<L extends string>(c: Counter<L>, labels: Partial<Record<L, string | number>> = {}): Tally {
  const flush = talliesOf.get(c);
  if (!flush) throw new Error('tally: a counter was not made by counter(), so nothing would fold the tally in');
  let pending = 0;
  flush.push(() => {
    if (pending === 0) return;
    const n = pending;
    pending = 0;
    c.inc(labels, n);
  });
  return {
    inc(n = 1) {
      pending += n;
    },
  };
}

export function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
): Histogram<L> {
  return (registry.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
