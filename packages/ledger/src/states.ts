import { sameVersion, type FileVersion } from './version.js';

/**
 * A file's life at the site, one record per cache path (the newest version of
 * the file at that path; a version is (size, mtimeMs), compared as
 * version.ts says: mtime to the whole millisecond).
 *
 *   pending ──claim──▶ batched ──accepted──▶ in_flight ──arrived──▶ transferred ──deleted──▶ deleted
 *      ▲                  ▲                     │    └──(cleaner: verified and deleted)─────────▲
 *      │                  └── retry ────────────┤  (task failed: the watcher sends attempt n+1, which re-claims)
 *      │                                        ▼
 *      └── resend ───────────────────────── failed  (file.failed: attempts exhausted; recorded by the cleaner)
 *
 * - `transferred`: arrived, not deleted. No service writes it today (the
 *   watcher may run at another site with its own Redis, and the cleaner goes
 *   from any live state of the verified version to `deleted`); claims and the
 *   sweep treat it like `deleted`.
 * - `pending`: a file.uploaded for this version is on its way to the batcher
 *   (log-tailer, sweep, resend). There may be no record at all for a file
 *   nobody has seen.
 * - `failed`: the watcher gave up the upload after its last attempt. The
 *   cleaner records it (`markFailed`, only while the record still holds that
 *   upload: same uploadId and size, no later attempt) with reason, detail,
 *   attempts, failedAt and the give-ups of this version, and indexes the path
 *   in `<prefix>:files:failed` (score = when the resend is due). After the
 *   backoff (1 h × 2^(give-ups − 1), at most 24 h by default) the cleaner
 *   checks the file on disk: the same version is sent again as a new round
 *   (attempt 1, upload id `resend:<path>:<size>:<mtimeMs>:<give-ups>`) and
 *   the record goes back to `pending`; another version is sent as itself; a
 *   missing or special file stays `failed` with reason CACHE_FILE_MISSING,
 *   NOT_A_REGULAR_FILE or UNSAFE_PATH for an operator. Also leaving `failed`:
 *   a new upload of the file (log-tailer → pending), and the sweep, which
 *   sends a failed version whose record is older than its 2-day threshold.
 *   The index is cleaned lazily: whoever reads an entry whose record is no
 *   longer failed drops it.
 * - `failed` with reason VANISHED: the batcher found no file in the cache
 *   for a version it was about to send (deleted between its log line and the
 *   claim). Nothing is left to send or delete; the record is not indexed for
 *   a resend and expires like a deleted one (counted as skipped `vanished`).
 */
export const FILE_STATES = ['pending', 'batched', 'in_flight', 'transferred', 'deleted', 'failed'] as const;
export type FileState = (typeof FILE_STATES)[number];

export type { FileVersion };


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

/** True while a version is on its way (claimed by a batch or in a Globus task). */
export function isInFlight(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'batched' || r.state === 'in_flight');
}

/** True once this version has arrived at the destination. */
export function isTransferred(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'transferred' || r.state === 'deleted');
}
