/** What to do with a task, from what Globus says about it. Pure. */
import type { TaskFile } from '@terra-transfer/contracts';

export interface TaskView {
  status?: string | undefined;
  nice_status?: string | null | undefined;
  faults?: number | undefined;
  files_transferred?: number | undefined;
  subtasks_pending?: number | undefined;
  fatal_error?: { code: string; description: string } | null | undefined;
}

export type Decision =
  | { action: 'wait'; troubled: boolean; reason: string | null }
  | { action: 'cancel'; reason: string }
  | { action: 'complete'; status: 'SUCCEEDED' | 'FAILED'; reason: string | null };

const HEALTHY = new Set(['OK', 'Queued']);

/**
 * SUCCEEDED and FAILED are terminal (a cancelled or expired task is FAILED).
 * An ACTIVE task reporting a problem (nice_status other than OK/Queued, or
 * faults), or an INACTIVE one, is "troubled"; troubled for longer than
 * `stuckAfterMs` means cancel it, so its files can be sent again instead of
 * holding one of the three active slots until the deadline.
 */
export function decide(t: TaskView, troubledSinceMs: number | null, now: number, stuckAfterMs: number): Decision {
  if (t.status === 'SUCCEEDED') return { action: 'complete', status: 'SUCCEEDED', reason: null };
  if (t.status === 'FAILED') return { action: 'complete', status: 'FAILED', reason: t.fatal_error?.code ?? 'FAILED' };
  const problem =
    t.status === 'INACTIVE' ? (t.nice_status ?? 'INACTIVE')
      : t.nice_status && !HEALTHY.has(t.nice_status) ? t.nice_status
        : (t.faults ?? 0) > 0 && (t.subtasks_pending ?? 0) > 0 && t.nice_status !== 'Queued' ? 'FAULTS'
          : null;
  if (problem && troubledSinceMs !== null && now - troubledSinceMs >= stuckAfterMs) return { action: 'cancel', reason: problem };
  return { action: 'wait', troubled: problem !== null, reason: problem };
}

export interface ArrivedFile {
  source_path: string | null;
  destination_path: string | null;
  size: number;
  checksum: string | null;
  checksum_algorithm: string | null;
}

export interface Plan {
  transferred: Array<{ file: TaskFile; arrived: ArrivedFile }>;
  requeue: Array<{ file: TaskFile; reason: string }>;
  failed: Array<{ file: TaskFile; reason: string }>;
}

/**
 * Splits a finished task's files: those Globus lists among successful
 * transfers arrived; every other file goes back for another attempt, or is
 * given up after `maxAttempts`. The reason is the file's skipped error, else
 * the task's (fatal error, the problem it was cancelled for), else NOT_TRANSFERRED.
 */
export function plan(files: readonly TaskFile[], arrived: readonly ArrivedFile[], skippedBySource: ReadonlyMap<string, string>, taskReason: string | null, maxAttempts: number): Plan {
  const bySource = new Map<string, ArrivedFile>();
  for (const a of arrived) if (a.source_path) bySource.set(a.source_path, a);
  const out: Plan = { transferred: [], requeue: [], failed: [] };
  for (const file of files) {
    const a = bySource.get(file.sourcePath);
    if (a) {
      out.transferred.push({ file, arrived: a });
      continue;
    }
    const reason = (skippedBySource.get(file.sourcePath) ?? taskReason ?? 'NOT_TRANSFERRED').slice(0, 64);
    if (file.attempt >= maxAttempts) out.failed.push({ file, reason });
    else out.requeue.push({ file, reason });
  }
  return out;
}

/** Adaptive poll interval: back to the minimum when something moved, ×1.5 up to the maximum while nothing does. */
export function nextInterval(current: number, changed: boolean, minMs: number, maxMs: number): number {
  return changed ? minMs : Math.min(maxMs, Math.round(current * 1.5));
}
