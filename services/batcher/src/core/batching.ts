/** When a batch must be flushed, and what its Globus label says. Pure. */

export interface BatchLimits {
  maxFiles: number;
  maxBytes: number;
  maxWaitMs: number;
}

export interface OpenBatchState {
  files: number;
  bytes: number;
  /** When the oldest file joined (ms) */
  openedAt: number;
}

export type FlushReason = 'files' | 'bytes' | 'age' | 'shutdown';

export function flushReason(b: OpenBatchState, limits: BatchLimits, now: number): FlushReason | null {
  if (b.files >= limits.maxFiles) return 'files';
  if (b.bytes >= limits.maxBytes) return 'bytes';
  if (b.files > 0 && now - b.openedAt >= limits.maxWaitMs) return 'age';
  return null;
}

/** A Globus label: at most 128 characters, no line breaks, no leading or trailing blanks. */
export function taskLabel(site: string, destination: string, batchId: string, files: number): string {
  return `terra ${site} to ${destination} batch ${batchId.slice(0, 8)} (${files} files)`.replace(/[\r\n]+/g, ' ').trim().slice(0, 128);
}

/** ISO deadline with the +00:00 offset Globus writes. */
export function deadlineIso(now: number, hours: number): string {
  return new Date(now + hours * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Globus refuses a deadline in the past, and one that expires before the
 * task can run fails the task (EXPIRED). A batch (re-)submitted with less
 * than this left on its stored deadline gets a fresh one.
 */
const DEADLINE_MARGIN_MS = 5 * 60_000;

/**
 * The deadline to send for a batch submitted at `now`: the stored one while
 * it has `DEADLINE_MARGIN_MS` (or a tenth of the task's life, if that is
 * shorter) left, otherwise `hours` from now. Resending the same
 * submission_id with a new deadline is safe: if Globus already holds a task
 * for it, the answer is Duplicate with that task, whatever the deadline says. Pure.
 */
export function deadlineFor(stored: string, now: number, hours: number): { deadline: string; renewed: boolean } {
  const margin = Math.min(DEADLINE_MARGIN_MS, hours * 360_000);
  const at = Date.parse(stored);
  if (Number.isFinite(at) && at - now > margin) return { deadline: stored, renewed: false };
  return { deadline: deadlineIso(now, hours), renewed: true };
}
