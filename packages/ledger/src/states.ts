import { sameVersion, type FileVersion } from './version.js';

/**
 * A file's life at the site, one record per cache path (the newest version of
 * the file at that path; a version is (size, mtimeMs), compared as
 * version.ts says: mtime to the whole millisecond). This file is the one
 * description of it: FILE_TRANSITIONS below lists every write, and
 * docs/architecture.md carries lifecycleTable()'s rendering of it (a test
 * fails when they differ).
 *
 *            notePending                claim                 markInFlight
 *   (none) ─────────────▶ pending ─────────────▶ batched ───────────────▶ in_flight
 *      │                     ▲                     ▲   ▲                     │
 *      └──── claim ──────────┼─────────────────────┘   └─ claim, attempt n+1 ┘ (task failed: the watcher's retry)
 *                            │
 *   failed ◀── markFailed ── pending | batched | in_flight     (file.failed: attempts exhausted)
 *   failed ── notePending (resend) ─▶ pending;  failed ── claim (a new upload) ─▶ batched
 *   pending | batched | in_flight ── markTransferred ─▶ transferred   (DELETION_POLICY=never)
 *   pending | batched | in_flight | transferred ── markDeleted ─▶ deleted   (expires)
 *
 * - `pending`: a file.uploaded for this version was published by the
 *   cleaner (a resend of a failed file, an API submission, a changed file
 *   found at deletion, the sweep). An upload from the log or a directory
 *   source has no `pending` step: the batcher's claim creates the record.
 * - `transferred`: arrived and kept. Written by the cleaner at a site whose
 *   deletion policy is `never`; at other sites the cleaner goes from any
 *   live state of the verified version straight to `deleted` (the watcher
 *   may run at another site with its own Redis and never writes here).
 *   Claims and the sweep treat it like `deleted`.
 * - `failed`: the watcher gave up the upload after its last attempt. The
 *   cleaner records it (`markFailed`, only while the record still holds that
 *   upload: same uploadId and size, no later attempt) with reason, detail,
 *   attempts, failedAt and the give-ups of this version, and indexes the path
 *   in `<prefix>:files:failed[:<site>]` (score = when the resend is due). After the
 *   backoff (1 h × 2^(give-ups − 1), at most 24 h by default) the cleaner
 *   checks the file on disk: the same version is sent again as a new round
 *   (attempt 1, upload id `resend:<path>:<size>:<mtimeMs>:<give-ups>`) and
 *   the record goes back to `pending`; another version is sent as itself; a
 *   missing or special file stays `failed` with reason CACHE_FILE_MISSING,
 *   NOT_A_REGULAR_FILE or UNSAFE_PATH for an operator. Also leaving `failed`:
 *   a new upload of the file (the batcher claims it), and the sweep, which
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

/** One write of a file's record: which ledger method, who calls it, from which states, to which. */
export interface FileTransition {
  method: string;
  by: string;
  /** Starting states checked in the same Lua step; '(none)' = no record; 'other version' = a record of another version, whatever its state. */
  from: ReadonlyArray<FileState | '(none)' | 'other version'>;
  to: FileState;
  when: string;
}

/** Every write of the ledger's file records (the Lua scripts in ledger.ts refuse any other starting state). */
export const FILE_TRANSITIONS: readonly FileTransition[] = [
  { method: 'notePending', by: 'cleaner', from: ['(none)', 'pending', 'failed', 'other version'], to: 'pending', when: 'it published file.uploaded (resend, API submission, changed file, sweep); a version further along is left alone' },
  { method: 'claim', by: 'batcher', from: ['(none)', 'pending', 'failed', 'other version'], to: 'batched', when: 'a batch is stored; another version only if the disk showed it no earlier than the record\'s' },
  { method: 'claim', by: 'batcher', from: ['batched', 'in_flight'], to: 'batched', when: 'the same version with a higher attempt (the watcher\'s retry after a failed task)' },
  { method: 'claim', by: 'batcher', from: ['(none)', 'pending', 'failed', 'batched', 'in_flight'], to: 'failed', when: 'the file is gone from the cache (batched or in flight: only the claim\'s own batch, or a retry): reason VANISHED, the record expires' },
  { method: 'markInFlight', by: 'batcher', from: ['batched'], to: 'in_flight', when: 'Globus accepted the batch\'s task; only records the batch\'s claim still holds (a path another batch claimed since is that batch\'s)' },
  { method: 'markTransferred', by: 'cleaner', from: ['pending', 'batched', 'in_flight'], to: 'transferred', when: 'file.transferred at a site whose deletion policy is never' },
  { method: 'markDeleted', by: 'cleaner', from: ['pending', 'batched', 'in_flight', 'transferred'], to: 'deleted', when: 'the verified version was deleted from the cache; the record expires' },
  { method: 'markFailed', by: 'cleaner', from: ['pending', 'batched', 'in_flight'], to: 'failed', when: 'file.failed for the upload the record holds; indexed for a resend' },
  { method: 'markRequeued', by: 'no service', from: ['batched', 'in_flight'], to: 'pending', when: 'kept for tools; the watcher\'s retry is a claim with a higher attempt' },
];

/** FILE_TRANSITIONS as the Markdown table docs/architecture.md carries. */
export function lifecycleTable(): string {
  const rows = FILE_TRANSITIONS.map((t) => `| \`${t.method}\` | ${t.by} | ${t.from.map((f) => (f.startsWith('(') || f.includes(' ') ? f : `\`${f}\``)).join(', ')} | \`${t.to}\` | ${t.when} |`);
  return ['| step | by | from | to | when |', '|---|---|---|---|---|', ...rows].join('\n');
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

/** True while a version is on its way (claimed by a batch or in a Globus task). */
export function isInFlight(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'batched' || r.state === 'in_flight');
}

/** True once this version has arrived at the destination. */
export function isTransferred(r: FileRecord | null, v: FileVersion): boolean {
  return !!r && sameVersion(r, v) && (r.state === 'transferred' || r.state === 'deleted');
}
