import { sameVersion } from '@terra-transfer/ledger';
import { isHidden, isWhitelisted } from '@terra-transfer/site-layout';
import { kindOf, mapLoggedPath, parseXferlog, zonedToUtc, type PathMapping } from '@terra-transfer/xferlog';

/** A completed upload found in the log within the range: the newest one per path wins. */
interface LoggedUpload {
  rel: string;
  bytes: number;
  /** UTC ms of the log line. */
  at: number;
}

export interface ScanState {
  lines: number;
  unparsed: number;
  /** Completed uploads in the range (a path uploaded twice counts twice). */
  uploadsInRange: number;
  /** Completed uploads in the range whose path is hidden, not whitelisted, or outside the FTP root: never sent by the tailer either. */
  ignored: number;
  earliest: number | null;
  latest: number | null;
  uploads: Map<string, LoggedUpload>;
}

export const newScan = (): ScanState => ({ lines: 0, unparsed: 0, uploadsInRange: 0, ignored: 0, earliest: null, latest: null, uploads: new Map() });

/**
 * Takes one log line (latin1) into the scan: its time widens the covered
 * span; a completed upload within [from, to) whose path the tailer would send
 * (inside the FTP root, not hidden, whitelisted) is kept. Pure.
 */
export function scanLine(s: ScanState, line: string, o: { from: number; to: number; timeZone: string; mapping: PathMapping; whitelist: readonly string[] }): void {
  if (line.length === 0) return;
  s.lines++;
  const r = parseXferlog(line);
  if (!r.ok) {
    s.unparsed++;
    return;
  }
  const at = zonedToUtc(r.record.wallMs, o.timeZone);
  s.earliest = s.earliest === null ? at : Math.min(s.earliest, at);
  s.latest = s.latest === null ? at : Math.max(s.latest, at);
  if (kindOf(r.record) !== 'upload' || at < o.from || at >= o.to) return;
  s.uploadsInRange++;
  const m = mapLoggedPath(r.record.filename, r.record.username, o.mapping);
  if (!m.ok) {
    s.ignored++;
    return;
  }
  const rel = m.components.join('/');
  if (isHidden(rel) || !isWhitelisted(rel, o.whitelist)) {
    s.ignored++;
    return;
  }
  const prev = s.uploads.get(rel);
  if (!prev || prev.at <= at) s.uploads.set(rel, { rel, bytes: r.record.bytes, at });
}

/** A day (YYYY-MM-DD, UTC) or an ISO time; `end` makes a day mean its end (exclusive). NaN when malformed. */
export function parseWhen(s: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== s) return NaN;
    return end ? t + 86_400_000 : t;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s)) return NaN;
  return Date.parse(s);
}

export type Verdict = 'send' | 'transferred' | 'in_pipeline' | 'missing';

/**
 * What the replay does with a logged upload, from the ledger's record and
 * the file on disk: the ledger decides (idempotent: a second run finds what
 * the first sent pending or transferred). A record of another version than
 * the disk's does not count: that version was never sent.
 */
export function decide(record: { state: string; size: number; mtimeMs: number } | null, disk: { size: number; mtimeMs: number } | null): Verdict {
  if (!disk) return record && (record.state === 'transferred' || record.state === 'deleted') ? 'transferred' : 'missing';
  // One version, as the ledger defines it (sub-ms digits differ between writers).
  if (record && sameVersion(record, disk)) {
    if (record.state === 'transferred' || record.state === 'deleted') return 'transferred';
    if (record.state !== 'failed') return 'in_pipeline';
  }
  return 'send';
}
