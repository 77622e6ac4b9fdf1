/**
 * Where a poll of one experiment database resumes. Two marks, because
 * neither alone is safe on a LemnaTec database:
 * - `maxId`: the highest snapshot id seen. A new row always gets a higher id
 *   (bigserial), whatever the imaging PC's clock says (a clock an hour behind
 *   still yields new ids), so `id > maxId` finds every new row…
 * - …except one whose transaction commits after a higher id was seen (ids
 *   are handed out at insert, rows become visible at commit). Those are found
 *   by the overlap window: rows with `time_stamp >= maxTimeMs - overlap`
 *   are looked at again on every poll, and the set of snapshots already
 *   taken (kept for longer than the window) keeps them from being sent twice.
 * Rows seen while `completed = false` are kept in an open set and looked at
 * until they complete, however long that takes.
 */
export interface Cursor {
  maxId: number;
  maxTimeMs: number;
}

export const START: Cursor = { maxId: 0, maxTimeMs: 0 };

export interface SeenRow {
  id: number;
  timeMs: number;
  completed: boolean;
}

/** The cursor after a poll saw `rows` (marks only move forward). */
export function advance(c: Cursor, rows: readonly SeenRow[]): Cursor {
  let { maxId, maxTimeMs } = c;
  for (const r of rows) {
    if (r.id > maxId) maxId = r.id;
    if (r.timeMs > maxTimeMs) maxTimeMs = r.timeMs;
  }
  return { maxId, maxTimeMs };
}

/** The lower time bound of the overlap window. */
export function overlapSince(c: Cursor, overlapMs: number): number {
  return Math.max(0, c.maxTimeMs - overlapMs);
}

/** Taken marks older than this are forgotten: such a row is below both marks and is never asked for again. */
export function forgetBefore(c: Cursor, overlapMs: number): number {
  return Math.max(0, c.maxTimeMs - 2 * overlapMs);
}
