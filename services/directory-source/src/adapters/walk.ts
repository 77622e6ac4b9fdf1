import { lstat, opendir } from 'node:fs/promises';
import type { Version } from '../core/version.js';

export interface FoundFile extends Version {
  /** Path relative to the root. */
  rel: string;
}

export interface WalkOptions {
  /** Descend into sub-folders (a full scan, a completed run) or list one folder only (a watch hint). */
  recursive: boolean;
  /** Whether a sub-folder (relative to the root) is worth descending into. */
  descend: (relDir: string) => boolean;
  /** A folder or file that could not be read (other than vanished): counted, the walk goes on. */
  onError: (path: string, err: unknown) => void;
  /** Files per chunk handed on. */
  chunk: number;
  signal?: AbortSignal;
}

/** lstat calls in flight at once within one folder. */
const STAT_PARALLEL = 32;

/**
 * Walks `root/startRel` as a stream: folders are read with opendir (never a
 * whole listing in memory), regular files are lstat'ed and handed on in
 * chunks; memory is one chunk, one batch of entries and the stack of folders
 * still to read. Symlinks and special files are skipped (never followed);
 * a folder or file that vanishes mid-walk is skipped silently.
 */
export async function* walkFiles(root: string, startRel: string, o: WalkOptions): AsyncGenerator<FoundFile[]> {
  const stack = [startRel];
  let out: FoundFile[] = [];
  while (stack.length > 0) {
    if (o.signal?.aborted) return;
    const relDir = stack.pop()!;
    const abs = relDir === '' ? root : `${root}/${relDir}`;
    let dir;
    try {
      dir = await opendir(abs, { bufferSize: 256 });
    } catch (err) {
      if (!vanished(err)) o.onError(abs, err);
      continue;
    }
    let names: string[] = [];
    try {
      for await (const d of dir) {
        const rel = relDir === '' ? d.name : `${relDir}/${d.name}`;
        if (d.isDirectory()) {
          if (o.recursive && o.descend(rel)) stack.push(rel);
        } else if (d.isFile()) {
          names.push(rel);
          if (names.length >= STAT_PARALLEL) {
            out.push(...(await statAll(root, names, o.onError)));
            names = [];
            if (out.length >= o.chunk) {
              yield out;
              out = [];
            }
          }
        }
      }
    } catch (err) {
      if (!vanished(err)) o.onError(abs, err);
    }
    out.push(...(await statAll(root, names, o.onError)));
    if (out.length >= o.chunk) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/** The files among `rels` that are (still) regular files, with their version. */
export async function statAll(root: string, rels: readonly string[], onError: (path: string, err: unknown) => void): Promise<FoundFile[]> {
  const res = await Promise.all(rels.map((rel) => statOne(root, rel, onError)));
  return res.filter((f): f is FoundFile => f !== null);
}

async function statOne(root: string, rel: string, onError: (path: string, err: unknown) => void): Promise<FoundFile | null> {
  try {
    const s = await lstat(`${root}/${rel}`);
    return s.isFile() ? { rel, size: s.size, mtimeMs: s.mtimeMs } : null;
  } catch (err) {
    if (!vanished(err)) onError(`${root}/${rel}`, err);
    return null;
  }
}

/** Whether a path names a folder now. */
export async function isFolder(abs: string): Promise<boolean> {
  try {
    return (await lstat(abs)).isDirectory();
  } catch {
    return false;
  }
}

/** Whether any of `names` exists as a regular file in `root/relDir`. */
export async function hasAnyFile(root: string, relDir: string, names: readonly string[]): Promise<boolean> {
  for (const n of names) {
    try {
      if ((await lstat(relDir === '' ? `${root}/${n}` : `${root}/${relDir}/${n}`)).isFile()) return true;
    } catch {
      // absent (or unreadable: then the folder is not known complete, and waits)
    }
  }
  return false;
}

function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
