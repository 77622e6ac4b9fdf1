import { classify } from '../errors.js';
import type { ErrorCode } from '../error-codes.js';
import { backoffDelay } from '../backoff.js';
import { sleep } from '../sleep.js';

/** Asks the upstream one cheap, real question (Clowder: find the space by name); resolves when it answered. */
export type UpstreamProbe = (signal: AbortSignal) => Promise<void>;

export interface ProbeBackoff {
  /** First wait between probes; doubles up to maxMs. */
  minMs: number;
  maxMs: number;
}

export const DEFAULT_PROBE_BACKOFF: ProbeBackoff = { minMs: 1_000, maxMs: 30_000 };

/** How waitUntilAvailable reports: once when the upstream is seen down, once when it answers again (never once per probe). */
export interface OutageReport {
  down(err: { code: ErrorCode; message: string }): void;
  up(downForMs: number, probes: number): void;
}

/**
 * Probes until the upstream answers, with a bounded, jittered exponential
 * backoff. A probe failing with an outage or any transient error means "still
 * down"; a permanent one (a 401: the key is wrong) is thrown unless
 * `permanentIsDown`. Resolves false when aborted (shutdown).
 */
export async function waitUntilAvailable(
  probe: UpstreamProbe,
  backoff: ProbeBackoff,
  signal: AbortSignal,
  report: OutageReport,
  opts: {
    /** The failure that revealed the outage: reported at once, and the first probe waits. */
    alreadyDown?: { code: ErrorCode; message: string };
    /** Keep waiting on a permanent failure too (a consumer in an outage must not resume into 401s); at start it is thrown instead. */
    permanentIsDown?: boolean;
  } = {},
): Promise<boolean> {
  const { alreadyDown } = opts;
  const since = Date.now();
  let probes = 0;
  let waits = 0;
  let reported = alreadyDown !== undefined;
  if (alreadyDown) report.down(alreadyDown);
  for (;;) {
    if (signal.aborted) return false;
    if (reported) {
      await sleep(backoffDelay(waits++, { baseMs: backoff.minMs, maxMs: backoff.maxMs, jitter: 0.5 }), signal);
      if (signal.aborted) return false;
    }
    probes++;
    try {
      await probe(signal);
      if (reported) report.up(Date.now() - since, probes);
      return true;
    } catch (err) {
      const c = classify(err);
      if (!c.retryable && !opts.permanentIsDown) throw err;
      if (!reported) {
        reported = true;
        report.down(c);
      }
    }
  }
}
