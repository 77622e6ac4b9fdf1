import { versionMtime } from '@terra-transfer/ledger';

/**
 * A version of a file at a destination path, as file.transferred reports it.
 * The same path sent again with another version is the file rewritten in place
 * after it was sent: Clowder must end up with the newest one.
 */
export interface FileVersion {
  mtimeMs: number;
  size: number;
  checksum: string | null;
}

/** Stored form (the Redis ledger): fixed key order, so equal versions have equal strings. */
export function encodeVersion(v: FileVersion): string {
  return JSON.stringify({ mtimeMs: v.mtimeMs, size: v.size, checksum: v.checksum });
}

/** undefined for anything that is not a stored version (a record written before versions were kept). */
function decodeVersion(s: string | undefined | null): FileVersion | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as Partial<FileVersion>;
    if (typeof v.mtimeMs !== 'number' || typeof v.size !== 'number') return undefined;
    return { mtimeMs: v.mtimeMs, size: v.size, checksum: typeof v.checksum === 'string' ? v.checksum : null };
  } catch {
    return undefined;
  }
}

/**
 * A total order, so every worker picks the same winner whatever the arrival
 * order: the later mtime is newer (to the millisecond, the ledger's one
 * convention: a sub-millisecond difference is the same mtime); at equal mtimes (a rewrite within the
 * clock's resolution) the larger size, then the larger checksum, win: an
 * arbitrary but deterministic choice between versions time cannot order.
 */
export function compareVersions(a: FileVersion, b: FileVersion): number {
  const ma = versionMtime(a.mtimeMs);
  const mb = versionMtime(b.mtimeMs);
  if (ma !== mb) return ma < mb ? -1 : 1;
  if (a.size !== b.size) return a.size < b.size ? -1 : 1;
  const ca = a.checksum ?? '';
  const cb = b.checksum ?? '';
  return ca === cb ? 0 : ca < cb ? -1 : 1;
}

/** The newer of two encoded versions (either may be absent). */
export function newest(a: string | undefined, b: string | undefined): string | undefined {
  const va = decodeVersion(a);
  const vb = decodeVersion(b);
  if (!va) return vb ? b : a;
  if (!vb) return a;
  return compareVersions(va, vb) >= 0 ? a : b;
}

/**
 * What a delivery of `incoming` for a path means, given what the ledger holds:
 * - `register`: the path is not registered yet;
 * - `done`: registered with this version or a newer one (a redelivery, or an older version arriving late);
 * - `adopt`: registered before versions were kept: the record takes this version, nothing is re-registered
 *   (re-registering every such path on its next redelivery would churn Clowder for nothing);
 * - `replace`: registered with an older version: the file was rewritten; Clowder gets the new one.
 */
export type VersionDecision = 'register' | 'done' | 'adopt' | 'replace';

export function decide(recordedId: string | undefined, recordedVersion: string | undefined, incoming: string): VersionDecision {
  if (!recordedId) return 'register';
  const have = decodeVersion(recordedVersion);
  const got = decodeVersion(incoming);
  if (!have) return 'adopt';
  if (!got || compareVersions(got, have) <= 0) return 'done';
  return 'replace';
}
