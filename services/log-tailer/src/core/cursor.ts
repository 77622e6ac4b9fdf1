import { createHash } from 'node:crypto';

/**
 * The durable cursor: where each log file has been read up to, counting only
 * lines whose effect is durable (event confirmed by the broker, or nothing to
 * publish). Versioned JSON; see docs/decisions/0002-log-reader.md.
 */
export const CURSOR_VERSION = 1;

/** Bytes of a file's head that identify it, at most. */
export const FINGERPRINT_MAX_BYTES = 1024;

export interface FileCursor {
  /** Identity of the content: see `fingerprintRegion`. null until the file has a first line. */
  fingerprint: string | null;
  dev: number;
  ino: number;
  /** Path where the file was last seen (a hint only; files are found by identity). */
  path: string;
  /** Offset after the last settled line (uncompressed bytes). */
  offset: number;
  /** True once the file was drained and let go (kept so a restart does not re-read it). */
  retired: boolean;
}

export interface CursorState {
  version: typeof CURSOR_VERSION;
  files: FileCursor[];
}

/**
 * The bytes a file's fingerprint is taken over: its first line including the
 * newline, or its first 1 KiB when the first line is longer. These bytes never
 * change while the file only grows, so the fingerprint is stable from the
 * moment it exists; and a file without a complete first line (and under 1 KiB)
 * has no line to publish yet, so nothing needs an id. Returns null then.
 * (A fixed 1 KiB would not exist for a quiet day's log of a few lines, and a
 * "whatever exists" hash would change as the file grows.)
 */
function fingerprintRegion(head: Uint8Array): Uint8Array | null {
  const limit = Math.min(head.length, FINGERPRINT_MAX_BYTES);
  for (let i = 0; i < limit; i++) if (head[i] === 10) return head.subarray(0, i + 1);
  return head.length >= FINGERPRINT_MAX_BYTES ? head.subarray(0, FINGERPRINT_MAX_BYTES) : null;
}

/** Short hex fingerprint of a file's head, or null when it has none yet. */
export function fingerprint(head: Uint8Array): string | null {
  const region = fingerprintRegion(head);
  return region ? createHash('sha256').update(region).digest('hex').slice(0, 16) : null;
}

/** Event id and upload id of the line starting at `offset`: stable across restarts, so downstream can deduplicate. */
export function uploadId(fp: string, offset: number): string {
  return `xferlog:${fp}:${offset}`;
}

export function encodeCursor(state: CursorState): string {
  return `${JSON.stringify(state)}\n`;
}

/** Parses a stored cursor; throws with a reason when it is not one we can trust. */
export function decodeCursor(text: string): CursorState {
  const v = JSON.parse(text) as unknown;
  if (!v || typeof v !== 'object') throw new Error('cursor is not an object');
  const o = v as { version?: unknown; files?: unknown };
  if (o.version !== CURSOR_VERSION) throw new Error(`unsupported cursor version ${JSON.stringify(o.version)}`);
  if (!Array.isArray(o.files)) throw new Error('cursor has no files');
  const files = o.files.map((f: unknown, i: number): FileCursor => {
    const e = f as Record<string, unknown>;
    const int = (k: string) => {
      const n = e[k];
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error(`files[${i}].${k} is not a non-negative integer`);
      return n;
    };
    const fp = e['fingerprint'];
    if (fp !== null && (typeof fp !== 'string' || !/^[0-9a-f]{16}$/.test(fp))) throw new Error(`files[${i}].fingerprint is invalid`);
    return {
      fingerprint: fp,
      dev: int('dev'),
      ino: int('ino'),
      offset: int('offset'),
      path: typeof e['path'] === 'string' ? e['path'] : '',
      retired: e['retired'] === true,
    };
  });
  return { version: CURSOR_VERSION, files };
}

export interface Candidate {
  path: string;
  dev: number;
  ino: number;
  gz: boolean;
  fingerprint: string | null;
}

/**
 * One entry per file among the candidates (oldest → newest). A listing can
 * see one file twice: at two names when a rotation renames it while we look
 * (same dev+inode), or as two copies of one content (same fingerprint): a
 * rotated log next to the gzip logrotate is still writing, or the current
 * log next to its copytruncate copy. Reading both would publish the same
 * lines twice under two ids, or, for a half-written gzip, fail mid-way.
 * Kept: the current log, then a plain file over a gzip one, then the newer
 * name. Returns the kept candidates in their order and the dropped ones.
 */
export function distinctCandidates<C extends Candidate>(candidates: readonly C[], currentPath: string): { keep: C[]; dropped: C[] } {
  const rank = (c: C) => (c.path === currentPath && !c.gz ? 2 : c.gz ? 0 : 1);
  const dropped: C[] = [];
  // By identity first, then by content among what is left (one pass over both keys could drop every copy).
  const pick = (list: readonly C[], key: (c: C) => string | null): C[] => {
    const winner = new Map<string, C>();
    for (const c of list) {
      const k = key(c);
      if (k === null) continue;
      const w = winner.get(k);
      if (!w || rank(c) >= rank(w)) winner.set(k, c); // later in the list is the newer name
    }
    const kept: C[] = [];
    for (const c of list) {
      const k = key(c);
      (k === null || winner.get(k) === c ? kept : dropped).push(c);
    }
    return kept;
  };
  const keep = pick(pick(candidates, (c) => `${c.dev}:${c.ino}`), (c) => c.fingerprint);
  return { keep, dropped };
}

/**
 * Where to resume after a start, given the stored cursor and the log files
 * that exist now, ordered oldest → newest (the current log last).
 *
 * Each stored entry is found by content: same fingerprint and same dev+inode
 * first, then same fingerprint anywhere (a copytruncate copy, a file gzipped
 * since), and an entry without a fingerprint by dev+inode. Files older than
 * the oldest one found are done; from there on, a found file resumes at its
 * stored offset (the smallest, when two entries land on it) and a file the
 * cursor never saw starts at 0. When a cursor exists but none of its files
 * can be found (rotated away during a long downtime), every file is read
 * from 0: duplicates, with stable ids, rather than loss. The same holds for
 * a cursor file that exists but cannot be decoded ('unreadable').
 */
export function resumePlan(state: CursorState | 'unreadable' | undefined, candidates: readonly Candidate[], startAtEnd: boolean): { starts: Array<number | 'end' | null>; lost: boolean } {
  const n = candidates.length;
  if (state === 'unreadable') return { starts: candidates.map(() => 0), lost: true };
  if (!state || state.files.length === 0) {
    // A first start: the current log only, from its beginning (or end).
    return { starts: candidates.map((_, i) => (i === n - 1 ? (startAtEnd ? 'end' : 0) : null)), lost: false };
  }
  const found = new Array<number | undefined>(n).fill(undefined);
  for (const e of state.files) {
    let idx: number;
    if (e.fingerprint !== null) {
      idx = candidates.findIndex((c) => c.fingerprint === e.fingerprint && c.dev === e.dev && c.ino === e.ino && !c.gz);
      if (idx === -1) idx = candidates.findIndex((c) => c.fingerprint === e.fingerprint);
    } else {
      idx = candidates.findIndex((c) => c.dev === e.dev && c.ino === e.ino && !c.gz && c.fingerprint === null);
      if (idx === -1) idx = candidates.findIndex((c) => c.dev === e.dev && c.ino === e.ino && !c.gz);
      // It had no line when saved, so whatever it holds now is new.
      if (idx !== -1) {
        found[idx] = Math.min(found[idx] ?? 0, 0);
        continue;
      }
    }
    if (idx !== -1) found[idx] = Math.min(found[idx] ?? Infinity, e.offset);
  }
  const first = found.findIndex((v) => v !== undefined);
  if (first === -1) return { starts: candidates.map(() => 0), lost: true };
  return { starts: candidates.map((_, i) => (i < first ? null : (found[i] ?? 0))), lost: false };
}
