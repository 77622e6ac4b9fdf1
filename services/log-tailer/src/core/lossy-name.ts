/**
 * xferlog filenames are lossy. Every writer replaces a space (ProFTPD and
 * wu-ftpd: any space or control character) with `_`; vsftpd then replaces
 * every byte it finds unprintable (control bytes and every byte >= 128, so
 * each byte of a UTF-8 character) with `?`. The logged path is also relative
 * to the FTP session's root (chroot). These pure functions turn a logged path
 * into cache-relative components and decide which real directory entries a
 * logged component can stand for; the file-system walk is in
 * adapters/resolver.ts.
 */

/** Bytes a logged `_` can stand for: itself, a space, a control byte. */
function underscoreMatches(b: number): boolean {
  return b === 0x5f || b === 0x20 || b < 0x20 || b === 0x7f;
}

/** Bytes a logged `?` can stand for: itself, or any byte a writer finds unprintable. */
function questionMatches(b: number): boolean {
  return b === 0x3f || b < 0x20 || b >= 0x7f;
}

/** True when a logged component (latin1: one char per byte) may stand for other names. */
export function hasWildcards(component: string): boolean {
  return component.includes('_') || component.includes('?');
}

/** True when the real name `name` (raw bytes, or bytes as a latin1 string) could have been logged as `logged` (latin1). */
export function loggedNameMatches(logged: string, name: Uint8Array | string): boolean {
  if (name.length !== logged.length) return false;
  for (let i = 0; i < name.length; i++) {
    const l = logged.charCodeAt(i);
    const b = typeof name === 'string' ? name.charCodeAt(i) : name[i]!;
    if (l === b) continue;
    if (l === 0x5f ? !underscoreMatches(b) : l === 0x3f ? !questionMatches(b) : true) return false;
  }
  return true;
}

/**
 * A lookup key under which a real name and every logged form of it agree:
 * each byte a writer may replace (space, `_`, `?`, control and non-ASCII
 * bytes) becomes `*`. Equal keys are necessary for a match, so a directory
 * indexed by key gives the few candidates to check with `loggedNameMatches`
 * instead of scanning every entry.
 */
export function lossyKey(name: Uint8Array | string): string {
  const s = typeof name === 'string' ? name : Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
  // One flat string (a Map key that stays small), not one concatenation per byte.
  return s.replace(REPLACEABLE, '*');
}

/** Bytes a writer may have replaced, or may have written in place of another: space, `_`, `?`, control and non-ASCII. */
const REPLACEABLE = /[\x00-\x20?_\x7f-\uffff]/g;

export interface PathMapping {
  /** Prefix of logged paths that stands for the cache root (usually `/`: vsftpd logs chroot-relative paths). */
  ftpRoot: string;
  /** Per-user sub-directory of the cache root a chrooted user's `/` is (username → relative dir). */
  userRoots: Readonly<Record<string, string>>;
}

export type MapResult = { ok: true; components: string[] } | { ok: false; reason: 'outside_ftp_root' | 'escapes_root' | 'empty' };

/**
 * Maps a logged filename to path components relative to the cache root:
 * strips the FTP root, prepends the user's root, and resolves `.` and `..`
 * lexically, rejecting a path that climbs above the root. A relative logged
 * name is taken as relative to the user's root.
 */
export function mapLoggedPath(filename: string, username: string, mapping: PathMapping): MapResult {
  let p = filename;
  const root = mapping.ftpRoot.replace(/\/+$/, '');
  if (p.startsWith('/')) {
    if (root !== '') {
      if (p !== root && !p.startsWith(`${root}/`)) return { ok: false, reason: 'outside_ftp_root' };
      p = p.slice(root.length);
    }
  }
  const userRoot = Object.hasOwn(mapping.userRoots, username) ? mapping.userRoots[username]! : '';
  const out: string[] = [];
  for (const part of [...userRoot.split('/'), ...p.split('/')]) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return { ok: false, reason: 'escapes_root' };
      out.pop();
      continue;
    }
    out.push(part);
  }
  if (out.length === 0) return { ok: false, reason: 'empty' };
  return { ok: true, components: out };
}
