import { sameVersion, type FileRecord, type FileVersion } from '@terra-transfer/ledger';
import type { Catalogued } from '@terra-transfer/platform';

/** What the cleaner saw on disk for the event's path, after the path passed the safety checks. */
export type OnDisk =
  | { kind: 'missing' }
  /** A symlink, directory, FIFO…: never deleted, never followed. */
  | { kind: 'not_regular'; type: string }
  | { kind: 'file'; size: number; mtimeMs: number };

export interface DeletionInput {
  /** Version recorded at upload (carried by file.transferred). */
  version: FileVersion;
  /** Checksum Globus verified, or null. */
  checksum: string | null;
  disk: OnDisk;
  record: FileRecord | null;
  now: number;
  /** A changed file younger than this may still be uploading. */
  settleMs: number;
}

/** Why the rule refuses an event for good (dead-lettered with this code; catalogue in packages/platform/src/error-codes.ts). */
type RefusalCode = Catalogued<'UNVERIFIED_TRANSFER' | 'NOT_A_REGULAR_FILE'>;

export type Decision =
  /** The file on disk is the verified version: delete it. */
  | { action: 'delete' }
  /** Never delete; dead-letter so an operator sees it. */
  | { action: 'refuse'; code: RefusalCode; reason: string }
  /** The file is gone and the ledger still holds this version alive (or knows nothing): finish the bookkeeping (file.deleted, ledger). */
  | { action: 'finish_gone' }
  /** The file on disk is another version nobody has sent: send it as a new upload. */
  | { action: 'resend' }
  | { action: 'noop'; outcome: NoopOutcome };

export type NoopOutcome =
  /** A redelivery after a completed deletion. */
  | 'already_deleted'
  /** Gone, and the ledger is about another version: someone else's business. */
  | 'gone'
  /** Changed, and the new version is already known to the ledger (pending, batched, in flight, transferred). */
  | 'changed_known'
  /** Changed moments ago: maybe still uploading; the log (or the sweep) will send it. */
  | 'changed_recent';

/** Same version: the ledger's one definition (size, and mtime to the millisecond). */
const same = sameVersion;

/**
 * The deletion rule, without I/O. A file is deleted only when Globus verified
 * its checksum and the file on disk is still exactly the version that was
 * uploaded (size and mtime). The caller compares size and mtime once more
 * right before the unlink.
 */
export function decideDeletion(i: DeletionInput): Decision {
  // First: an unverified transfer never leads to a deletion, whatever is on disk.
  if (i.checksum === null || i.checksum === '') {
    return { action: 'refuse', code: 'UNVERIFIED_TRANSFER', reason: 'the transfer carries no verified checksum; the file is kept' };
  }
  const r = i.record;
  switch (i.disk.kind) {
    case 'missing':
      if (r && same(r, i.version) && r.state === 'deleted') return { action: 'noop', outcome: 'already_deleted' };
      // The site's ledger may never see "transferred" (the watcher can run at another site), so any live state of this version counts.
      if (!r || same(r, i.version)) return { action: 'finish_gone' };
      return { action: 'noop', outcome: 'gone' };
    case 'not_regular':
      return { action: 'refuse', code: 'NOT_A_REGULAR_FILE', reason: `the cache path is a ${i.disk.type}, not a regular file; it is never deleted nor followed` };
    case 'file': {
      if (same(i.disk, i.version)) return { action: 'delete' };
      if (r && same(r, i.disk) && r.state !== 'failed') return { action: 'noop', outcome: 'changed_known' };
      if (i.now - i.disk.mtimeMs < i.settleMs) return { action: 'noop', outcome: 'changed_recent' };
      return { action: 'resend' };
    }
  }
}
