import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { hasWildcards, loggedNameMatches, lossyKey, mapLoggedPath, type PathMapping } from '../core/lossy-name.js';

/**
 * Finds the real file a logged (lossy) name stands for under the cache root.
 *
 * A logged component with `_` or `?` is matched against the directory's real
 * entries byte by byte (`_` and `?` as single-byte wildcards for what writers
 * replace); one without is taken literally. Every full match is collected, so
 * `a b.dat` and `a_b.dat` both existing is reported as ambiguous, never
 * guessed. The found file's real path (symlinks resolved) must still be under
 * the cache root.
 *
 * Synchronous on purpose: a few stat/readdir calls on local disk per line are
 * cheaper than the thread-pool round trips of the async API, and directory
 * listings are cached, checked against the directory's mtime and ctime on
 * every use (never guessed from a stale listing).
 */
export type Resolution =
  | { kind: 'found'; path: string; relPath: string; stats: Stats }
  | { kind: 'gone' }
  | { kind: 'ambiguous'; matches: string[] }
  | { kind: 'rejected'; reason: 'outside_ftp_root' | 'escapes_root' | 'empty' | 'outside_cache_root' | 'not_a_file' };

interface Listing {
  mtimeMs: number;
  ctimeMs: number;
  /** Entries by lossy key: the only names a logged component can match (see lossyKey). */
  byKey: Map<string, Buffer[]>;
}

export class Resolver {
  private readonly root: string;
  private readonly rootBytes: Buffer;
  private readonly listings = new Map<string, Listing>();

  constructor(
    cacheRoot: string,
    private readonly mapping: PathMapping,
    private readonly maxListings = 2048,
  ) {
    this.root = realpathSync(cacheRoot);
    this.rootBytes = Buffer.from(this.root);
  }

  resolve(loggedName: string, username: string): Resolution {
    const mapped = mapLoggedPath(loggedName, username, this.mapping);
    if (!mapped.ok) return { kind: 'rejected', reason: mapped.reason };
    // Candidate directories (as byte paths), narrowed one component at a time.
    let dirs: Buffer[] = [this.rootBytes];
    const comps = mapped.components;
    for (let i = 0; i < comps.length; i++) {
      const comp = comps[i]!;
      const next: Buffer[] = [];
      for (const dir of dirs) {
        if (!hasWildcards(comp)) {
          next.push(join(dir, Buffer.from(comp, 'latin1')));
          continue;
        }
        const listing = this.list(dir);
        if (!listing) continue;
        for (const name of listing.byKey.get(lossyKey(comp)) ?? []) if (loggedNameMatches(comp, name)) next.push(join(dir, name));
      }
      dirs = next;
      if (dirs.length === 0) return { kind: 'gone' };
    }
    const files: Array<{ path: Buffer; stats: Stats }> = [];
    let notFile = false;
    for (const p of dirs) {
      let st: Stats;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isFile()) files.push({ path: p, stats: st });
      else notFile = true;
    }
    if (files.length === 0) return notFile ? { kind: 'rejected', reason: 'not_a_file' } : { kind: 'gone' };
    if (files.length > 1) return { kind: 'ambiguous', matches: files.map((f) => f.path.toString('utf8')) };
    const { path, stats } = files[0]!;
    let real: string;
    try {
      real = realpathSync.native(path as unknown as string);
    } catch {
      return { kind: 'gone' };
    }
    if (!real.startsWith(`${this.root}/`)) return { kind: 'rejected', reason: 'outside_cache_root' };
    return { kind: 'found', path: real, relPath: real.slice(this.root.length + 1), stats };
  }

  /** Entries of a directory, from the cache while the directory is unchanged. */
  private list(dir: Buffer): Listing | undefined {
    const key = dir.toString('latin1');
    let st;
    try {
      // Number stats (sub-microsecond resolution as doubles): cheaper than bigint ones on every line.
      st = statSync(dir);
    } catch {
      this.listings.delete(key);
      return undefined;
    }
    if (!st.isDirectory()) return undefined;
    const cached = this.listings.get(key);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.ctimeMs === st.ctimeMs) return cached;
    let names: Buffer[];
    try {
      names = readdirSync(dir, { encoding: 'buffer' });
    } catch {
      return undefined;
    }
    const byKey = new Map<string, Buffer[]>();
    for (const name of names) {
      const k = lossyKey(name);
      const list = byKey.get(k);
      if (list) list.push(name);
      else byKey.set(k, [name]);
    }
    const listing = { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, byKey };
    if (this.listings.size >= this.maxListings) this.listings.delete(this.listings.keys().next().value!);
    this.listings.set(key, listing);
    return listing;
  }
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}
