import type { FileVersion } from '@terra-transfer/ledger';

/** A version of a file: what a stat says about it (the ledger's one definition; compared with its sameVersion). */
export type Version = FileVersion;

/** How a sent version is stored (the Redis hash's value). */
export function encodeVersion(v: Version): string {
  return `${v.size}:${v.mtimeMs}`;
}

/** The stored version, or null when the value is not one (then the file counts as never sent, and is sent again). */
export function decodeVersion(s: string | null | undefined): Version | null {
  if (!s) return null;
  const i = s.indexOf(':');
  if (i <= 0) return null;
  const size = Number(s.slice(0, i));
  const mtimeMs = Number(s.slice(i + 1));
  return Number.isFinite(size) && Number.isFinite(mtimeMs) ? { size, mtimeMs } : null;
}
