import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { hasWildcards, loggedNameMatches, lossyKey, mapLoggedPath, type MapResult, type PathMapping } from '../core/lossy-name.js';

/**
 * Finds the real file a logged (lossy) name stands for under the cache root.
 *
 * A logged component with `_` or `?` is matched against the directory's real
 * entries byte by byte (`_` and `?` as single-byte wildcards for what writers
 * replace); one without is taken literally. Every full match is collected, so
 * `a b.dat` and `a_b.dat` both existing is reported as ambiguous, with every
 * candidate's real path and stats: which one the line is for is the caller's
 * decision on the line's evidence (core/lossy-name-choice.ts), never guessed
 * here. The found file's real path (symlinks resolved) must still be under
 * the cache root.
 *
 * Directory facts (the walk to a parent directory, a listing, a real path) are looked up again at
 * most once per batch (`beginBatch`, and at least every `maxFactAgeMs`): the
 * caller starts a batch after reading its lines, so every line of the batch
 * was written (its upload completed) before the facts used for it were
 * taken. The file itself is looked at (lstat) on every line, so a file
 * deleted or replaced by a symlink is never missed; a symlink is resolved
 * whole and checked against the root.
 *
 * Synchronous on purpose: a few stat/readdir calls on local disk per line are
 * cheaper than the thread-pool round trips of the async API.
 */
type RejectReason = 'outside_ftp_root' | 'escapes_root' | 'empty' | 'outside_cache_root' | 'not_a_file';

export type Resolution =
  | { kind: 'found'; path: string; relPath: string; stats: Stats }
  | { kind: 'gone' }
  | { kind: 'ambiguous'; candidates: Candidate[] }
  | { kind: 'rejected'; reason: RejectReason };

/** One of several files a logged name can stand for: found (real path under the root), or one that could not be sent (`rejected`; `path` is then the entry's own). */
export interface Candidate {
  path: string;
  relPath: string;
  stats: Stats;
  rejected?: RejectReason;
}

interface DirFacts {
  epoch: number;
  mtimeMs: number;
  ctimeMs: number;
  /**
   * Entry names (bytes as latin1 strings: compact, and every byte kept) by
   * lossy key, the only names a logged component can match (see lossyKey);
   * read on first need.
   */
  byKey: Map<string, string | string[]> | undefined;
  names: number;
  /** The directory's real path; undefined until asked, null when it cannot be resolved. */
  real: string | null | undefined;
}

const SLASH = Buffer.from('/');
// eslint-disable-next-line no-control-regex -- the range starts at NUL on purpose: everything outside ASCII
const NON_ASCII = /[^\x00-\x7f]/;

/** A directory a walk reached: its byte path, that path with a `/` after it, and its key in the facts map (computed once per walk). */
interface DirRef {
  bytes: Buffer;
  prefix: Buffer;
  key: string;
}

function dirRef(bytes: Buffer): DirRef {
  return { bytes, prefix: Buffer.concat([bytes, SLASH]), key: bytes.toString('latin1') };
}

/** The byte path of entry `name` (bytes as a latin1 string) of directory `dir`. */
function child(dir: DirRef, name: string): Buffer {
  return Buffer.concat([dir.prefix, Buffer.from(name, 'latin1')]);
}

/** The last walk, for the next line naming the same directory: the logged name up to its last `/`, and the user. */
interface WalkMemo {
  dirPart: string;
  username: string;
  dirs: DirRef[];
}

export class Resolver {
  private readonly root: string;
  /** The root with a `/` after it: what every real path found must start with. */
  private readonly rootSlash: string;
  private readonly rootRef: DirRef;
  private readonly dirs = new Map<string, DirFacts>();
  private names = 0;
  /** This batch's walks: the directories a mapped parent path (components joined by `/`) can name. */
  private walks = new Map<string, DirRef[]>();
  private memo: WalkMemo | undefined;
  /** Reused for the per-line lstat's path (the call copies it). */
  private scratch = Buffer.allocUnsafe(4096);
  private epoch = 0;
  /** When the batch began, on the monotonic clock (the wall clock can step back and keep old facts an hour). */
  private epochAt = performance.now();

  constructor(
    cacheRoot: string,
    private readonly mapping: PathMapping,
    private readonly maxDirs = 2048,
    private readonly maxFactAgeMs = 1000,
    /** Listed names kept over all directories (memory stays bounded whatever the cache holds). */
    private readonly maxNames = 200_000,
  ) {
    this.root = realpathSync(cacheRoot);
    this.rootSlash = `${this.root}/`;
    this.rootRef = dirRef(Buffer.from(this.root));
  }

  /** Starts a batch: call it after reading the lines it is for. Facts from earlier batches are checked again before use. */
  beginBatch(): void {
    this.epoch++;
    this.epochAt = performance.now();
    this.walks = new Map();
    this.memo = undefined;
  }

  /** The cache-relative components a logged name maps to (`.`, `..` and empty components resolved), or why it maps to none. */
  map(loggedName: string, username: string): MapResult {
    return mapLoggedPath(loggedName, username, this.mapping);
  }

  resolve(loggedName: string, username: string): Resolution {
    if (performance.now() - this.epochAt > this.maxFactAgeMs) this.beginBatch();
    let dirs: DirRef[];
    // Consecutive lines mostly name files of one directory: the same logged directory part and user
    // in one batch give the same walk, so the last one is reused (only for a plain leaf, and a directory
    // part that holds the whole FTP root, so the mapping of the leaf cannot change the parent).
    const cut = loggedName.lastIndexOf('/');
    const dirPart = loggedName.slice(0, cut + 1);
    const loggedLeaf = loggedName.slice(cut + 1);
    let leaf = loggedLeaf;
    const m = this.memo;
    if (m && m.dirPart === dirPart && m.username === username && plainLeaf(loggedLeaf)) {
      dirs = m.dirs;
    } else {
      const mapped = mapLoggedPath(loggedName, username, this.mapping);
      if (!mapped.ok) return { kind: 'rejected', reason: mapped.reason };
      const comps = mapped.components;
      const last = comps.length - 1;
      // Candidate parent directories, narrowed one component at a time; once per batch.
      const walkKey = comps.slice(0, last).join('/');
      let walked = this.walks.get(walkKey);
      if (!walked) {
        walked = [this.rootRef];
        for (let i = 0; i < last && walked.length > 0; i++) walked = this.step(walked, comps[i]!);
        if (this.walks.size < this.maxDirs) this.walks.set(walkKey, walked);
      }
      dirs = walked;
      leaf = comps[last]!;
      this.memo = cut > this.mapping.ftpRoot.length && plainLeaf(loggedLeaf) ? { dirPart, username, dirs } : undefined;
    }
    if (dirs.length === 0) return { kind: 'gone' };
    if (dirs.length === 1 && !hasWildcards(leaf)) {
      // The common case, one directory and a literal name: one lstat, nothing to collect.
      const dir = dirs[0]!;
      const st = lstatSync(this.entryPath(dir, leaf), { throwIfNoEntry: false });
      if (!st) return { kind: 'gone' };
      if (!st.isFile() && !st.isSymbolicLink()) return { kind: 'rejected', reason: 'not_a_file' };
      return this.found(dir, leaf, st);
    }
    const files: Array<{ dir: DirRef; name: string; stats: Stats }> = [];
    let notFile = false;
    for (const dir of dirs) {
      for (const name of this.candidates(dir, leaf)) {
        const st = lstatSync(this.entryPath(dir, name), { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isFile() || st.isSymbolicLink()) files.push({ dir, name, stats: st });
        else notFile = true;
      }
    }
    if (files.length === 0) return notFile ? { kind: 'rejected', reason: 'not_a_file' } : { kind: 'gone' };
    if (files.length === 1) return this.found(files[0]!.dir, files[0]!.name, files[0]!.stats);
    const candidates: Candidate[] = [];
    for (const f of files) {
      const r = this.found(f.dir, f.name, f.stats);
      if (r.kind === 'found') candidates.push({ path: r.path, relPath: r.relPath, stats: r.stats });
      // One that cannot be sent is still one the line may be for: it stays a candidate.
      else if (r.kind === 'rejected') candidates.push({ path: child(f.dir, f.name).toString('utf8'), relPath: '', stats: f.stats, rejected: r.reason });
    }
    if (candidates.length > 1) return { kind: 'ambiguous', candidates };
    const only = candidates[0];
    if (!only) return { kind: 'gone' };
    return only.rejected ? { kind: 'rejected', reason: only.rejected } : { kind: 'found', path: only.path, relPath: only.relPath, stats: only.stats };
  }

  /** The one file a name resolved to (entry `name` of `dir`, lstat `stats`): its real path, which must be under the root. */
  private found(dir: DirRef, name: string, lstats: Stats): Resolution {
    let stats = lstats;
    let real: string;
    if (stats.isSymbolicLink()) {
      // A link: resolve it whole, then it must still be a regular file under the root.
      const full = child(dir, name);
      try {
        real = realpathSync.native(full as unknown as string);
        stats = statSync(real);
      } catch {
        return { kind: 'gone' };
      }
      if (!stats.isFile()) return { kind: 'rejected', reason: 'not_a_file' };
    } else {
      const realDir = this.realDir(dir);
      if (realDir === null) return { kind: 'gone' };
      // Bytes as latin1 → UTF-8 text; an ASCII name reads the same either way.
      real = `${realDir}/${NON_ASCII.test(name) ? Buffer.from(name, 'latin1').toString('utf8') : name}`;
    }
    if (!real.startsWith(this.rootSlash)) return { kind: 'rejected', reason: 'outside_cache_root' };
    return { kind: 'found', path: real, relPath: real.slice(this.root.length + 1), stats };
  }

  /** The byte path of entry `name` of `dir`, in a buffer reused by the next call (for a call that copies it at once). */
  private entryPath(dir: DirRef, name: string): Buffer {
    const need = dir.prefix.length + name.length; // latin1: one byte per char
    if (need > this.scratch.length) return child(dir, name);
    dir.prefix.copy(this.scratch, 0);
    this.scratch.write(name, dir.prefix.length, 'latin1');
    return this.scratch.subarray(0, need);
  }

  /** The directories a logged component can name under each of `dirs`. */
  private step(dirs: DirRef[], comp: string): DirRef[] {
    const next: DirRef[] = [];
    for (const dir of dirs) for (const name of this.candidates(dir, comp)) next.push(dirRef(child(dir, name)));
    return next;
  }

  /** The entries of `dir` a logged component can stand for: itself when it has no wildcard, else the listing's matches. */
  private candidates(dir: DirRef, comp: string): string[] {
    if (!hasWildcards(comp)) return [comp];
    const byKey = this.listing(dir);
    if (!byKey) return [];
    const entry = byKey.get(lossyKey(comp));
    if (entry === undefined) return [];
    if (typeof entry === 'string') return loggedNameMatches(comp, entry) ? [entry] : [];
    return entry.filter((name) => loggedNameMatches(comp, name));
  }

  /** Facts about a directory, checked (stat) at most once per batch; undefined when it is not a directory now. */
  private facts(dir: DirRef): DirFacts | undefined {
    const key = dir.key;
    const cached = this.dirs.get(key);
    if (cached && cached.epoch === this.epoch) return cached;
    // Number stats (sub-microsecond resolution as doubles): cheaper than bigint ones.
    const st = statSync(dir.bytes, { throwIfNoEntry: false });
    if (!st || !st.isDirectory()) {
      if (cached) this.forget(key, cached);
      return undefined;
    }
    if (cached && cached.mtimeMs === st.mtimeMs && cached.ctimeMs === st.ctimeMs) {
      cached.epoch = this.epoch;
      // Entries unchanged, but a directory above may have been moved or replaced: resolve again when asked.
      cached.real = undefined;
      return cached;
    }
    const facts: DirFacts = { epoch: this.epoch, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, byKey: undefined, names: 0, real: undefined };
    if (cached) this.forget(key, cached);
    this.dirs.set(key, facts);
    this.evict();
    return facts;
  }

  /** Entries of a directory by lossy key, from the cache while the directory is unchanged. */
  private listing(dir: DirRef): Map<string, string | string[]> | undefined {
    const f = this.facts(dir);
    if (!f) return undefined;
    if (f.byKey) return f.byKey;
    let names: string[];
    try {
      names = readdirSync(dir.bytes, { encoding: 'latin1' });
    } catch {
      return undefined;
    }
    const byKey = new Map<string, string | string[]>();
    for (const name of names) {
      const k = lossyKey(name);
      const entry = byKey.get(k);
      if (entry === undefined) byKey.set(k, name);
      else if (typeof entry === 'string') byKey.set(k, [entry, name]);
      else entry.push(name);
    }
    f.byKey = byKey;
    f.names = names.length;
    this.names += names.length;
    this.evict(f);
    return byKey;
  }

  /** Drops the oldest directories beyond the bounds (never `keep`, the one in use). */
  private evict(keep?: DirFacts): void {
    for (const [key, f] of this.dirs) {
      if (this.dirs.size <= this.maxDirs && this.names <= this.maxNames) return;
      if (f !== keep) this.forget(key, f);
    }
  }

  private forget(key: string, f: DirFacts): void {
    this.dirs.delete(key);
    this.names -= f.names;
  }

  /** A directory's real path (symlinks resolved), once per batch; null when it is gone. */
  private realDir(dir: DirRef): string | null {
    const f = this.facts(dir);
    if (!f) return null;
    if (f.real === undefined) {
      try {
        f.real = realpathSync.native(dir.bytes as unknown as string);
      } catch {
        f.real = null;
      }
    }
    return f.real;
  }
}

/** A leaf that maps to itself (not empty, `.` or `..`), so the parent directories do not depend on it. */
function plainLeaf(leaf: string): boolean {
  return leaf !== '' && leaf !== '.' && leaf !== '..';
}
