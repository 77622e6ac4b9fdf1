import { createHash, getHashes } from 'node:crypto';
import { createReadStream, lstatSync, unlinkSync } from 'node:fs';
import { lstat, realpath, rmdir } from 'node:fs/promises';
import { sameVersion } from '@terra-transfer/ledger';
import { PermanentError } from '@terra-transfer/platform';
import type { OnDisk } from '../core/deletion.js';
import { insideRoot, removableParents } from '../core/paths.js';

/** A cache path that passed every safety gate. */
export interface Inspected {
  /** Path relative to the cache root. */
  rel: string;
  /** The path the unlink uses: real parent directory + name. */
  target: string;
  disk: OnDisk;
  /** mtime of each ancestor directory under the root (rel dir → mtimeMs), taken before anything was removed. */
  dirMtimes: Map<string, number>;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

function typeOf(st: import('node:fs').Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'special file';
}

/**
 * The cache root as the file system sees it, and the file-system operations the
 * cleaner is allowed to do under it. Nothing here follows a symlink: every
 * directory component is lstat-ed and a symlink anywhere in the path is a
 * refusal, then the parent's realpath must still be inside the root.
 */
export class CacheFs {
  private constructor(
    /** Root as configured (events carry paths under it). */
    readonly root: string,
    /** Root after realpath (the root itself may be a symlink to the volume). */
    readonly realRoot: string,
  ) {}

  static async open(root: string): Promise<CacheFs> {
    return new CacheFs(root, await realpath(root));
  }

  /**
   * Checks a cache path and reports what is there. Throws PermanentError
   * UNSAFE_PATH when the path is outside the root lexically (`..`, another
   * tree) or through a symlinked directory.
   */
  async inspect(abs: string): Promise<Inspected> {
    const at = await this.locate(abs);
    return { rel: at.rel, target: at.target, disk: at.parentMissing ? { kind: 'missing' } : await this.stat(at.target), dirMtimes: at.dirMtimes };
  }

  /**
   * inspect without the lstat of the file itself: the same safety gates
   * (UNSAFE_PATH), the path the unlink uses, and whether the parent directory
   * is missing (then so is the file). For a caller whose next step is
   * unlinkIfUnchanged, which lstat-s the file anyway.
   */
  async locate(abs: string): Promise<Omit<Inspected, 'disk'> & { parentMissing: boolean }> {
    const rel = insideRoot(this.root, abs);
    if (rel === null) throw new PermanentError('UNSAFE_PATH', 'the path is not inside the cache root (or has . / .. / empty components); nothing is deleted');
    const slash = rel.lastIndexOf('/');
    const dirRel = slash < 0 ? '' : rel.slice(0, slash);
    // The files of one upload directory arrive together: a delivery joins a walk of its directory already in
    // progress (begun at most one walk's time before it arrived) and nothing is remembered once the walk settles,
    // so every result is as fresh as a walk of its own; the file itself is lstat-ed per delivery.
    let walk = this.walks.get(dirRel);
    if (!walk) {
      walk = this.walkDirectory(dirRel).finally(() => this.walks.delete(dirRel));
      this.walks.set(dirRel, walk);
    }
    const { parent, dirMtimes } = await walk;
    if (parent === null) return { rel, target: `${this.realRoot}/${rel}`, parentMissing: true, dirMtimes };
    return { rel, target: `${parent}/${rel.slice(slash + 1)}`, parentMissing: false, dirMtimes };
  }

  /** Walks of a directory in progress, by its path relative to the root (see `inspect`). */
  private readonly walks = new Map<string, Promise<{ parent: string | null; dirMtimes: Map<string, number> }>>();

  /**
   * lstat-s every component of a directory under the root and realpath-s it:
   * its real path (null when a component is missing or not a directory) and
   * each ancestor's mtime. Throws PermanentError UNSAFE_PATH for a symlinked
   * component or a real path outside the root.
   */
  private async walkDirectory(dirRel: string): Promise<{ parent: string | null; dirMtimes: Map<string, number> }> {
    if (dirRel === '') return { parent: this.realRoot, dirMtimes: new Map() };
    const { found, dirMtimes } = await this.chain(dirRel);
    if (!found) return { parent: null, dirMtimes };
    // Belt and braces: whatever the components looked like a moment ago, the real parent must be under the real root.
    const parent = await realpath(`${this.realRoot}/${dirRel}`).catch(() => null);
    if (parent === null) return { parent: null, dirMtimes };
    if (parent !== this.realRoot && !parent.startsWith(`${this.realRoot}/`)) throw new PermanentError('UNSAFE_PATH', 'the real parent directory is outside the cache root');
    return { parent, dirMtimes };
  }

  /** lstat-s of a directory's components in progress, by its path relative to the root (see `chain`). */
  private readonly chains = new Map<string, Promise<{ found: boolean; dirMtimes: Map<string, number> }>>();

  /**
   * The components of a directory under the root, lstat-ed root first: found
   * (each is a directory, none a symlink) and each one's mtime. The upload
   * directories of a chunk share their ancestors: as for whole walks, a
   * directory joins the lstat of an ancestor already in progress, and nothing
   * is remembered once it settles.
   */
  private chain(rel: string): Promise<{ found: boolean; dirMtimes: Map<string, number> }> {
    let p = this.chains.get(rel);
    if (!p) {
      p = this.chainFrom(rel).finally(() => this.chains.delete(rel));
      this.chains.set(rel, p);
    }
    return p;
  }

  private async chainFrom(rel: string): Promise<{ found: boolean; dirMtimes: Map<string, number> }> {
    const slash = rel.lastIndexOf('/');
    const above = slash < 0 ? { found: true, dirMtimes: new Map<string, number>() } : await this.chain(rel.slice(0, slash));
    if (!above.found) return above;
    let st;
    try {
      st = await lstat(`${this.realRoot}/${rel}`);
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return { found: false, dirMtimes: above.dirMtimes };
      throw err;
    }
    if (st.isSymbolicLink()) throw new PermanentError('UNSAFE_PATH', `directory component ${rel} is a symlink; symlinks are never followed`);
    if (!st.isDirectory()) return { found: false, dirMtimes: above.dirMtimes };
    const dirMtimes = new Map(above.dirMtimes);
    dirMtimes.set(rel, st.mtimeMs);
    return { found: true, dirMtimes };
  }

  /** lstat of the final component only (never follows it). */
  async stat(target: string): Promise<OnDisk> {
    try {
      const st = await lstat(target);
      if (!st.isFile()) return { kind: 'not_regular', type: typeOf(st) };
      return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return { kind: 'missing' };
      throw err;
    }
  }

  /**
   * Unlinks `target` if it is still a regular file with this size and mtime.
   * The compare and the unlink are two synchronous system calls back to back:
   * with the promise API each waits its turn in libuv's thread pool, and with
   * a chunk's files in flight (decision 0053) that queue put milliseconds
   * between the lstat and the unlink, in which a re-upload of the path would
   * have been unlinked. The window is now the OS's alone (there is no
   * unlinkat-if-unchanged in POSIX); the event loop is held for two calls.
   * Returns what was there when it did not delete.
   */
  async unlinkIfUnchanged(target: string, expect: { size: number; mtimeMs: number }): Promise<{ deleted: true } | { deleted: false; disk: OnDisk }> {
    let disk: OnDisk;
    try {
      const st = lstatSync(target);
      disk = st.isFile() ? { kind: 'file', size: st.size, mtimeMs: st.mtimeMs } : { kind: 'not_regular', type: typeOf(st) };
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return { deleted: false, disk: { kind: 'missing' } };
      throw err;
    }
    if (disk.kind !== 'file' || !sameVersion(disk, expect)) return { deleted: false, disk };
    try {
      unlinkSync(target);
    } catch (err) {
      if (errno(err) === 'ENOENT') return { deleted: false, disk: { kind: 'missing' } };
      throw err;
    }
    return { deleted: true };
  }

  /**
   * Removes the parents a deletion emptied, deepest first, up to `depth`
   * levels; never the root or a whitelisted root. A directory modified within
   * `graceMs` before the deletion is kept (an uploader may have just created
   * it). rmdir only removes empty directories: a file arriving meanwhile stops it.
   */
  async removeEmptyParents(ins: Pick<Inspected, 'rel' | 'dirMtimes'>, whitelist: readonly string[], depth: number, graceMs: number, now: number): Promise<string[]> {
    const removed: string[] = [];
    for (const dir of removableParents(ins.rel, whitelist, depth)) {
      const mtime = ins.dirMtimes.get(dir);
      if (mtime === undefined || now - mtime < graceMs) break;
      try {
        await rmdir(`${this.realRoot}/${dir}`);
        removed.push(dir);
      } catch {
        // Not empty (the usual case), gone, or not ours to remove: the deletion itself stands either way.
        break;
      }
    }
    return removed;
  }
}

/** The digests this Node (its OpenSSL) computes, asked once: whether one is supported is a lookup, not a failed createHash's text. */
const LOCAL_DIGESTS: ReadonlySet<string> = new Set(getHashes().map((h) => h.toLowerCase()));

/** Node's name for a digest as Globus names it (MD5, SHA256, SHA-256…), or undefined when this Node cannot compute it. */
export function localDigest(algorithm: string): string | undefined {
  const name = algorithm.toLowerCase().replace(/-/g, '');
  return LOCAL_DIGESTS.has(name) ? name : undefined;
}

/** Hex digest of a file (streamed). `digest` is Node's name for it (localDigest). */
export async function fileChecksum(path: string, digest: string): Promise<string> {
  const hash = createHash(digest);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
