/**
 * Which event of a batch carries each file, judged against the disk. Pure.
 *
 * The file on disk is the arbiter, not the order of the events: the
 * log-tailer stats a file when it reads its log line, so two lines of one
 * path (a killed upload logged complete with its truncated size, then the
 * client's retry) may carry the same version (both read after the retry
 * finished) or a version that never was complete (read mid-retry), and a
 * watcher's retry carries no log position at all. The version the disk
 * holds now is the newest, whatever the events say; an event of any other
 * version is stale (its newer version's own event comes from the log, or the
 * sweep finds the file).
 */

import { sameVersion } from '@terra-transfer/ledger';

/** What the cache holds at a path, seen with lstat (no symlink followed). */
export type OnDisk =
  | { kind: 'file'; size: number; mtimeMs: number }
  | { kind: 'missing' }
  /** A directory, symlink, fifo…: no regular file to send. */
  | { kind: 'not_regular'; type: string };

export interface Candidate {
  path: string;
  size: number;
  mtimeMs: number;
  attempt: number;
}

/**
 *   send        this event's version is the file on disk and it carries the file in the batch
 *   duplicate   the same version as the event that carries the file (a repeated event, a lower attempt); settled with it
 *   superseded  the disk holds another version: stale, not sent
 *   vanished    no regular file at the path: not sent (the ledger is told; this is the path's one such event)
 */
export type Verdict = { kind: 'send' } | { kind: 'duplicate'; of: number } | { kind: 'superseded' } | { kind: 'vanished' };

/** The ledger's one definition of a version (mtime to the millisecond: stat may carry a fraction). */
function matchesDisk(c: Candidate, d: OnDisk): boolean {
  return d.kind === 'file' && sameVersion(d, c);
}

/**
 * One verdict per candidate (same order). Per path: among the events whose
 * version is on disk, the highest attempt is sent, a tie going to the later
 * event (a redelivery, or the later log line); when nothing is on disk the
 * path's last event stands for it and the others are its duplicates.
 */
export function judge(candidates: readonly Candidate[], disk: ReadonlyMap<string, OnDisk>): Verdict[] {
  const carrier = new Map<string, number>();
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    const d = disk.get(c.path) ?? { kind: 'missing' };
    const gone = d.kind !== 'file';
    if (!gone && !matchesDisk(c, d)) continue;
    const prev = carrier.get(c.path);
    if (prev === undefined || gone || candidates[prev]!.attempt <= c.attempt) carrier.set(c.path, i);
  }
  return candidates.map((c, i) => {
    const d = disk.get(c.path) ?? { kind: 'missing' };
    const of = carrier.get(c.path);
    if (of === i) return d.kind === 'file' ? { kind: 'send' } : { kind: 'vanished' };
    if (of !== undefined && (d.kind !== 'file' || sameVersion(c, candidates[of]!))) return { kind: 'duplicate', of };
    return { kind: 'superseded' };
  });
}
