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
