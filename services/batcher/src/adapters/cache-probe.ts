import { lstat, realpath } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { forEachLimit } from '@terra-transfer/platform';
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
 */
export class CacheProbe {
  private realRoot: Promise<string> | undefined;

  constructor(private readonly root: string) {}

  /**
   * What is at each path now. Directory components are looked at once per
   * call (a batch shares a few directories); at most `concurrency` lstat
   * calls at once.
   */
  async probe(paths: readonly string[], concurrency = 64): Promise<Map<string, OnDisk | Unsafe>> {
    // The root may itself be a symlink to the volume: resolved once, then never a symlink below it.
    this.realRoot ??= realpath(this.root).catch((err) => {
      this.realRoot = undefined;
      throw err;
    });
    const root = await this.realRoot;
    const dirs = new Map<string, Promise<'dir' | 'missing' | Unsafe>>();
    const out = new Map<string, OnDisk | Unsafe>();
    const unique = [...new Set(paths)];
    await forEachLimit(unique, concurrency, async (p) => {
      out.set(p, await this.one(root, p, dirs));
    });
    return out;
  }

  private async one(root: string, path: string, dirs: Map<string, Promise<'dir' | 'missing' | Unsafe>>): Promise<OnDisk | Unsafe> {
    const rel = relativeTo(this.root, path);
    if (rel === null) return { kind: 'unsafe', reason: `${path} is not inside the cache root ${this.root}` };
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      let d = dirs.get(dir);
      if (!d) {
        d = checkDir(`${root}/${dir}`, dir);
        dirs.set(dir, d);
      }
      const r = await d;
      if (r === 'missing') return { kind: 'missing' };
      if (r !== 'dir') return r;
    }
    try {
      const st = await lstat(`${root}/${rel}`);
      return st.isFile() ? { kind: 'file', size: st.size, mtimeMs: st.mtimeMs } : { kind: 'not_regular', type: typeOf(st) };
    } catch (err) {
      if (gone(err)) return { kind: 'missing' };
      throw err;
    }
  }
}

async function checkDir(abs: string, rel: string): Promise<'dir' | 'missing' | Unsafe> {
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) return { kind: 'unsafe', reason: `directory component ${rel} is a symlink; symlinks are never followed` };
    return st.isDirectory() ? 'dir' : 'missing';
  } catch (err) {
    if (gone(err)) return 'missing';
    throw err;
  }
}
