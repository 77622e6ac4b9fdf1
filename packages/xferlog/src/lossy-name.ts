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
// eslint-disable-next-line no-control-regex -- control characters are exactly what vsftpd replaces with '?'
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
  let rootLength = mapping.ftpRoot.length;
  while (rootLength > 0 && mapping.ftpRoot.charCodeAt(rootLength - 1) === SLASH) rootLength--;
  if (rootLength > 0 && p.charCodeAt(0) === SLASH) {
    const root = mapping.ftpRoot.slice(0, rootLength);
    if (!p.startsWith(root) || (p.length > rootLength && p.charCodeAt(rootLength) !== SLASH)) return { ok: false, reason: 'outside_ftp_root' };
    p = p.slice(rootLength);
  }
  const out: string[] = [];
  const userRoot = Object.hasOwn(mapping.userRoots, username) ? mapping.userRoots[username]! : '';
  if (!pushComponents(out, userRoot, 0)) return { ok: false, reason: 'escapes_root' };
  // A chrooted user's `..` never climbs above its own root.
  if (!pushComponents(out, p, out.length)) return { ok: false, reason: 'escapes_root' };
  if (out.length === 0) return { ok: false, reason: 'empty' };
  return { ok: true, components: out };
}

const SLASH = 47;

/** Appends the components of `path`, resolving `.` and `..`; false when `..` would go below `floor` components. */
function pushComponents(out: string[], path: string, floor: number): boolean {
  let from = 0;
  while (from <= path.length) {
    let to = path.indexOf('/', from);
    if (to === -1) to = path.length;
    const n = to - from;
    if (n === 0 || (n === 1 && path.charCodeAt(from) === 46)) {
      // empty or `.`
    } else if (n === 2 && path.charCodeAt(from) === 46 && path.charCodeAt(from + 1) === 46) {
      if (out.length <= floor) return false;
      out.pop();
    } else {
      out.push(path.slice(from, to));
    }
    from = to + 1;
  }
  return true;
}

/**
 * True when a logged path may name a hidden component: only a component that
 * starts with a dot can, and it sits at the start or right after a `/`. A
 * cheap test on the raw text, true for `/./` and `/../` too: the caller then
 * asks `hasHiddenComponent` about the normalised path.
 */
export function mayNameHidden(filename: string): boolean {
  return filename.charCodeAt(0) === 46 || filename.includes('/.');
}

/**
 * True when a component of a normalised path (`mapLoggedPath`'s: no empty,
 * `.` or `..` component left) starts with a dot. `/a/./b`, `/a//b` and
 * `/a/.x/../b` name `a/b`, which is not hidden.
 */
export function hasHiddenComponent(components: readonly string[]): boolean {
  return components.some((c) => c.charCodeAt(0) === 46);
}
