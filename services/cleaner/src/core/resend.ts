import { sameVersion, type FileRecord } from '@terra-transfer/ledger';
import { backoffDelay, type Catalogued } from '@terra-transfer/platform';
import type { OnDisk } from './deletion.js';

/**
 * Delays before the resend of a failed version, after its 1st, 2nd, … give-up:
 * base × 2^(n−1), capped; the last entry repeats (the ledger indexes it).
 * Sending again soon helps a transient outage; backing off keeps a file that
 * keeps failing from taking a place in every batch.
 */
export function resendDelays(baseMs: number, maxMs: number): number[] {
  const out: number[] = [];
  for (let n = 0; out.at(-1) !== maxMs; n++) out.push(backoffDelay(n, { baseMs, maxMs }));
  return out;
}

/** Why a failed file is kept failed instead of sent (closed set; the reason operators read in the API). */
export type KeepCode = Catalogued<
  /** Nothing at the path any more: nothing to send, nothing to clean. */
  | 'CACHE_FILE_MISSING'
  /** A symlink, directory, FIFO…: never sent, never followed. */
  | 'NOT_A_REGULAR_FILE'
  /** The path is outside the cache root, or through a symlinked directory. */
  | 'UNSAFE_PATH'
>;

/** What the resend schedule does with one failed file whose resend is due. */
export type ResendDecision =
  /** The version that failed is still there: a new round (attempt 1, a new upload id). */
  | { action: 'resend' }
  /** Another version is there now and has settled: send that one. */
  | { action: 'send_changed'; size: number; mtimeMs: number }
  /** Another version arrived moments ago: its upload may still run; the log sends it (else a later pass). */
  | { action: 'wait_changed' }
  | { action: 'keep'; code: KeepCode; detail: string };

/** The resend rule, without I/O: `disk` is what the cleaner's safety checks found at the record's path. */
export function decideResend(record: Pick<FileRecord, 'size' | 'mtimeMs'>, disk: OnDisk, now: number, settleMs: number): ResendDecision {
  switch (disk.kind) {
    case 'missing':
      return { action: 'keep', code: 'CACHE_FILE_MISSING', detail: 'the file is no longer in the cache: nothing to send or delete; an operator decides (deleting its ledger record clears it)' };
    case 'not_regular':
      return { action: 'keep', code: 'NOT_A_REGULAR_FILE', detail: `the cache path is now a ${disk.type}; it is never sent nor followed` };
    case 'file':
      if (sameVersion(disk, record)) return { action: 'resend' };
      if (now - disk.mtimeMs < settleMs) return { action: 'wait_changed' };
      return { action: 'send_changed', size: disk.size, mtimeMs: disk.mtimeMs };
  }
}

/**
 * Give-up reasons as a metric label: the codes the watcher reports (Globus
 * nice_status and fatal_error codes, its own), anything else "other", so the
 * label set stays bounded whatever Globus sends.
 */
export const GIVE_UP_REASONS = [
  'FILE_NOT_FOUND', 'PERMISSION_DENIED', 'EXPIRED', 'CANCELED', 'FAILED', 'FAULTS', 'INACTIVE', 'TASK_NOT_FOUND', 'NOT_TRANSFERRED',
  'ENDPOINT_ERROR', 'CONNECT_FAILED', 'QUOTA_EXCEEDED', 'VERIFY_CHECKSUM', 'PAUSED', 'other',
] as const;
export type GiveUpReason = (typeof GIVE_UP_REASONS)[number];

export function giveUpReason(code: string): GiveUpReason {
  return (GIVE_UP_REASONS as readonly string[]).includes(code) && code !== 'other' ? (code as GiveUpReason) : 'other';
}
