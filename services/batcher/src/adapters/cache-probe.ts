import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { relativeTo } from '@terra-transfer/site-layout';
import type { OnDisk } from '../core/versions.js';

/** A path the batcher refuses to look at: outside the cache root, or through a symlinked directory. */
export interface Unsafe {
  kind: 'unsafe';
  reason: string;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;
const gone = (err: unknown) => errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR';

function typeOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  return 'special file';
}

/**
 * Looks at cache files the way the cleaner does before deleting: every
 * directory component under the root is lstat-ed and a symlink anywhere is a
 * refusal; the file itself is lstat-ed (never followed). Read-only.
 *
 * Synchronous on purpose (like the log-tailer's resolver and the cleaner's
 * compare-and-unlink): an lstat of the local cache is a syscall of a few
 * microseconds, far cheaper than the async API's thread-pool round trip,
 * promise and microtasks per file (issue 23: the async probe was the
 * batcher's largest cost per file). A batch of 500 files holds the event
 * loop for about a millisecond.
 */
export class CacheProbe {
  private realRoot: string | undefined;

  constructor(private readonly root: string) {}

  /** What is at each path now. Directory components are looked at once per call (a batch shares a few directories). */
  async probe(paths: readonly string[]): Promise<Map<string, OnDisk | Unsafe>> {
    // The root may itself be a symlink to the volume: resolved once (until it fails), then never a symlink below it.
    this.realRoot ??= realpathSync(this.root);
    const root = this.realRoot;
    const dirs = new Map<string, 'dir' | 'missing' | Unsafe>();
    const out = new Map<string, OnDisk | Unsafe>();
    for (const p of paths) if (!out.has(p)) out.set(p, this.one(root, p, dirs));
    return out;
  }

  private one(root: string, path: string, dirs: Map<string, 'dir' | 'missing' | Unsafe>): OnDisk | Unsafe {
    const rel = relativeTo(this.root, path);
    if (rel === null) return { kind: 'unsafe', reason: `${path} is not inside the cache root ${this.root}` };
    // Each directory prefix of rel (a/, a/b/, …), looked at once per call.
    for (let cut = rel.indexOf('/'); cut !== -1; cut = rel.indexOf('/', cut + 1)) {
      const dir = rel.slice(0, cut);
      let r = dirs.get(dir);
      if (r === undefined) {
        r = checkDir(`${root}/${dir}`, dir);
        dirs.set(dir, r);
      }
      if (r === 'missing') return { kind: 'missing' };
      if (r !== 'dir') return r;
    }
    const st = lstatNoEntry(`${root}/${rel}`);
    if (!st) return { kind: 'missing' };
    return st.isFile() ? { kind: 'file', size: st.size, mtimeMs: st.mtimeMs } : { kind: 'not_regular', type: typeOf(st) };
  }
}

/** lstat, or undefined when nothing is there (ENOENT, or a component that is not a directory: ENOTDIR). */
function lstatNoEntry(abs: string): Stats | undefined {
  try {
    return lstatSync(abs, { throwIfNoEntry: false });
  } catch (err) {
    if (gone(err)) return undefined;
    throw err;
  }
}

function checkDir(abs: string, rel: string): 'dir' | 'missing' | Unsafe {
  const st = lstatNoEntry(abs);
  if (!st) return 'missing';
  if (st.isSymbolicLink()) return { kind: 'unsafe', reason: `directory component ${rel} is a symlink; symlinks are never followed` };
  return st.isDirectory() ? 'dir' : 'missing';
}
