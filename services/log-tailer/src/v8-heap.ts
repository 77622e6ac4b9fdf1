/**
 * Imported first by main.ts, before anything allocates much. V8 lets the old
 * generation grow to about four times what survived the last full GC before
 * it collects again; this service keeps little alive (about 30 MB under full
 * load) but turns over a lot (every publish in flight), and that meant
 * 220-250 MB resident for 30 MB of live objects. Growing by at most 50% keeps
 * it near 150 MB at the price of more, short, full GCs (measured:
 * docs/performance.md). V8 reads the flag at each GC, so setting it here takes
 * effect. A `--heap-growing-percent` given on node's command line wins.
 */
import { setFlagsFromString } from 'node:v8';

if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) {
  setFlagsFromString('--heap-growing-percent=50');
}
