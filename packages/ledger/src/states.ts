/**
 * A file's life at the site, one record per cache path (the newest version of
 * the file at that path; a version is (size, mtimeMs)).
 *
 *   pending ──claim──▶ batched ──accepted──▶ in_flight ──succeeded──▶ transferred ──deleted──▶ deleted
 *      ▲                  │                     │
 *      └────── requeue ───┴─────────────────────┘  (task failed, expired, cancelled, not found)
 *                                               └──▶ failed (attempts exhausted; the sweep may send it again)
 *
 * `pending` means a file.uploaded event for this version is on its way to the
 * batcher; there may be no record at all for a file nobody has seen.
 */
export const FILE_STATES = ['pending', 'batched', 'in_flight', 'transferred', 'deleted', 'failed'] as const;
export type FileState = (typeof FILE_STATES)[number];

export interface FileVersion {
  size: number;
  mtimeMs: number;
}

export interface FileRecord extends FileVersion {
  path: string;
  state: FileState;
  uploadId: string;
  attempt: number;
  site: string;
  sensor: string;
  batchId: string | null;
  taskId: string | null;
  checksum: string | null;
  reason: string | null;
  /** ms since the epoch of the last transition */
  updatedAt: number;
}

export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** True while a version is on its way (claimed by a batch or in a Globus task). */
export function isInFlight(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'batched' || r.state === 'in_flight');
}

/** True once this version has arrived at the destination. */
export function isTransferred(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'transferred' || r.state === 'deleted');
}
