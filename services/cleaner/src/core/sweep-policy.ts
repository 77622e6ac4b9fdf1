import { sameVersion, type FileRecord } from '@terra-transfer/ledger';

/** What the sweep does with one file it walked past. Closed set: also the label of terra_transfer_sweep_files_total. */
export type SweepVerdict =
  /** Younger than the threshold: not looked up, not sent. */
  | 'young'
  /** Old, and no record at all: never seen (e.g. an FTP session died before logging). */
  | 'sent_no_record'
  /** Old, and the record is about another version (the file changed after it was recorded). */
  | 'sent_other_version'
  /** Old, and its version is pending or failed since longer than the threshold. */
  | 'sent_stale'
  /** Old, pending or failed recently: someone is on it. */
  | 'recent_pending'
  | 'in_flight'
  | 'transferred';

export const SWEEP_VERDICTS: readonly SweepVerdict[] = ['young', 'sent_no_record', 'sent_other_version', 'sent_stale', 'recent_pending', 'in_flight', 'transferred'];

function isOld(mtimeMs: number, now: number, minAgeMs: number): boolean {
  return now - mtimeMs > minAgeMs;
}

/**
 * The sweep rule, without I/O: a file older than the threshold is sent when
 * nothing shows it was transferred or is on its way: no record, a record for
 * another version, or a pending/failed record older than the threshold.
 */
export function sweepVerdict(file: { size: number; mtimeMs: number }, record: Pick<FileRecord, 'state' | 'size' | 'mtimeMs' | 'updatedAt'> | null, now: number, minAgeMs: number): SweepVerdict {
  if (!isOld(file.mtimeMs, now, minAgeMs)) return 'young';
  if (!record) return 'sent_no_record';
  if (!sameVersion(record, file)) return 'sent_other_version';
  switch (record.state) {
    case 'transferred':
    case 'deleted':
      return 'transferred';
    case 'batched':
    case 'in_flight':
      return 'in_flight';
    case 'pending':
    case 'failed':
      return now - record.updatedAt > minAgeMs ? 'sent_stale' : 'recent_pending';
  }
}

export const isSend = (v: SweepVerdict): boolean => v.startsWith('sent_');

/** True when the file counts towards "oldest untransferred" (it is not known to have arrived). */
export const isUntransferred = (v: SweepVerdict): boolean => v !== 'transferred';
