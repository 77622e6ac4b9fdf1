import { spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';

/**
 * The sweep's walk: GNU find (on every host the service runs on) in a child
 * process whose output is streamed. find stats each file relative to an open
 * directory (fstatat), which Node cannot do, walks trees of any depth and
 * paths of any length, and takes under two seconds of a daily sweep more than
 * a walker of our own would (docs/decisions/0006-find-walks-the-sweep.md).
 * Records are NUL-terminated (names may hold newlines), parsed as they
 * arrive, and handed on in chunks of old files; memory is one chunk and
 * find's own. Hidden names are pruned at any depth, symlinks are never
 * followed (a whitelisted root that is a symlink is not walked either), only
 * regular files are returned, unreadable directories are counted and the
 * first few named.
 *
 * Record kinds: `O<mtime> <size> <path>` an old regular file, `Y<mtime>` a
 * young one (only counted), `H` a hidden name (pruned), `S` anything that is
 * neither a file nor a directory (symlinks, FIFOs, …); find reports a
 * directory it could not read on stderr.
 */

/** One regular file the walk found, with what the sweep needs from its lstat. */
export interface WalkedFile {
  /** Relative to the cache root. */
  rel: string;
  size: number;
  mtimeMs: number;
}

export interface WalkStats {
  /** Directories that could not be read (vanished, permission): the walk goes on. */
  unreadableDirs: number;
  /** Symlinks, sockets, FIFOs…: never followed, never sent. */
  skippedSpecial: number;
  hidden: number;
}

interface Totals {
  scanned: number;
  young: number;
  oldestYoungMtimeMs: number | null;
  stats: WalkStats;
  /** The first few directories that could not be read, as `<path>: <reason>` (all are counted in stats). */
  unreadable: string[];
}

/** Running totals ride along with each chunk, so progress is current. */
export type WalkMessage = ({ type: 'chunk'; files: WalkedFile[] } & Totals) | ({ type: 'done' } & Totals);

export interface WalkParams {
  realRoot: string;
  whitelist: readonly string[];
  minAgeMs: number;
  now: number;
  /** Old files per chunk. */
  chunk: number;
  /** Stops the walk at once (the generator then ends with an error the caller ignores). */
  signal?: AbortSignal;
}

/** How many unreadable directories a walk names (the rest are only counted). */
const UNREADABLE_NAMED = 10;

/** Keeps the first UNREADABLE_NAMED descriptions (`<path>: <reason>`) of directories a walk could not read. */
function noteUnreadable(list: string[], what: string): void {
  if (list.length < UNREADABLE_NAMED) list.push(what);
}

/** Whitelist entries without duplicates or entries nested in another (each file is walked once). */
export function topLevel(whitelist: readonly string[]): string[] {
  const entries = [...new Set(whitelist.map((w) => w.replace(/^\/+|\/+$/g, '')).filter((w) => w !== '' && !w.split('/').some((p) => p === '..' || p === '.' || p.startsWith('.'))))].sort();
  return entries.filter((e) => !entries.some((o) => o !== e && e.startsWith(`${o}/`)));
}

/**
 * find's `%T@` (seconds with a nanosecond fraction)
 * as the mtimeMs Node's lstat gives for the same file, bit for bit: Node
 * computes `sec * 1e3 + nsec / 1e6`, and versions are compared on that number.
 */
export function mtimeMsFromFind(t: string): number {
  const dot = t.indexOf('.');
  if (dot === -1) return Number(t) * 1e3;
  const nsec = Number(t.slice(dot + 1, dot + 10).padEnd(9, '0'));
  return Number(t.slice(0, dot)) * 1e3 + nsec / 1e6;
}

/** The whole seconds of a `%T@` value in buf[from, to) (digits up to the dot). */
function wholeSeconds(buf: Buffer, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** Walks the whitelisted directories under p.realRoot with GNU find (the record protocol above). */
export function findOldFiles(p: WalkParams): AsyncGenerator<WalkMessage> {
  const cutoffSec = (p.now - p.minAgeMs) / 1000;
  const args = (roots: string[]) => [
    '-P', ...roots, '-mindepth', '1',
    '(', '-name', '.*', '-printf', 'H\\0', '-prune', ')',
    '-o', '(', '-type', 'f', '-newermt', `@${cutoffSec.toFixed(3)}`, '-printf', 'Y%T@\\0', ')',
    '-o', '(', '-type', 'f', '-printf', 'O%T@ %s %p\\0', ')',
    '-o', '(', '!', '-type', 'd', '-printf', 'S\\0', ')',
  ];
  // find exits 1 when some directory could not be read (one stderr line each, counted); anything else is a failure.
  // The C locale keeps those lines in one form (`find: '<path>': <reason>`) whatever the host's locale.
  return walkProcess(p, 'find', args, { okCodes: [0, 1], env: { ...process.env, LC_ALL: 'C' } });
}

/**
 * The whitelisted directories find starts from. One that is a symlink (or not a directory) could lead
 * anywhere: counted as skipped and not walked (find -P would list nothing under it, silently). One that
 * is missing is left to find, which reports it as unreadable.
 */
function walkableRoots(realRoot: string, whitelist: readonly string[], stats: WalkStats): string[] {
  const roots: string[] = [];
  for (const rel of topLevel(whitelist)) {
    const st = lstatSync(`${realRoot}/${rel}`, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) stats.skippedSpecial++;
    else roots.push(`${realRoot}/${rel}`);
  }
  return roots;
}

interface ProcessOptions {
  /** Exit codes that mean the walk finished. */
  okCodes: readonly number[];
  env?: NodeJS.ProcessEnv;
}

/** Runs `cmd` with the arguments made for the whitelisted roots (absolute, under the real root) and parses its records. */
async function* walkProcess(p: WalkParams, cmd: string, args: (roots: string[]) => string[], o: ProcessOptions): AsyncGenerator<WalkMessage> {
  const stats: WalkStats = { unreadableDirs: 0, skippedSpecial: 0, hidden: 0 };
  let scanned = 0;
  let young = 0;
  let oldestYoungMtimeMs: number | null = null;
  const unreadable: string[] = [];
  const totals = () => ({ scanned, young, oldestYoungMtimeMs, stats: { ...stats }, unreadable: [...unreadable] });
  const roots = walkableRoots(p.realRoot, p.whitelist, stats);
  if (roots.length === 0) {
    yield { type: 'done', ...totals() };
    return;
  }
  const child = spawn(cmd, args(roots), { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  const stop = () => void child.kill('SIGKILL');
  p.signal?.addEventListener('abort', stop, { once: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  // find: one line per directory it could not read (vanished, permission); the walk goes on.
  // Lines are taken whole: a chunk of stderr may end in the middle of one.
  let partial = '';
  // find exits 1 both when a directory could not be read (the walk went on) and when it refused to run at all:
  // only complaints naming a path (`find: '<path>': <reason>`) are unreadable directories; any other line fails the walk.
  let refused = false;
  const errLine = (l: string) => {
    if (!l.startsWith("find: '")) {
      if (l.trim() !== '') refused = true;
      return;
    }
    stats.unreadableDirs++;
    noteUnreadable(unreadable, l.slice('find: '.length));
  };
  child.stderr.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    lines.forEach(errLine);
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (partial) errLine(partial);
      partial = '';
      resolve(code);
    });
  });
  const prefix = `${p.realRoot}/`;
  let batch: WalkedFile[] = [];
  let sinceYield = 0;
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      const buf = rest.length ? Buffer.concat([rest, data]) : data;
      let start = 0;
      for (let nul = buf.indexOf(0, start); nul !== -1; nul = buf.indexOf(0, start)) {
        const kind = buf[start];
        if (kind === 0x59 /* Y */) {
          scanned++;
          young++;
          sinceYield++;
          // Most young files cannot be the oldest: compare whole seconds from the bytes, parse exactly only when needed.
          if (oldestYoungMtimeMs === null || wholeSeconds(buf, start + 1, nul) * 1e3 <= oldestYoungMtimeMs) {
            const m = mtimeMsFromFind(buf.toString('latin1', start + 1, nul));
            if (oldestYoungMtimeMs === null || m < oldestYoungMtimeMs) oldestYoungMtimeMs = m;
          }
        } else if (kind === 0x4f /* O */) {
          const rec = buf.toString('utf8', start + 1, nul);
          const s1 = rec.indexOf(' ');
          const s2 = rec.indexOf(' ', s1 + 1);
          const path = rec.slice(s2 + 1);
          scanned++;
          sinceYield++;
          if (path.startsWith(prefix)) batch.push({ rel: path.slice(prefix.length), size: Number(rec.slice(s1 + 1, s2)), mtimeMs: mtimeMsFromFind(rec.slice(0, s1)) });
        } else if (kind === 0x48 /* H */) {
          stats.hidden++;
        } else if (kind === 0x53 /* S */) {
          stats.skippedSpecial++;
        }
        start = nul + 1;
        if (batch.length >= p.chunk || sinceYield >= p.chunk * 50) {
          yield { type: 'chunk', files: batch, ...totals() };
          batch = [];
          sinceYield = 0;
        }
      }
      rest = buf.subarray(start);
    }
    const code = await exited;
    if (code === null || !o.okCodes.includes(code) || (code !== 0 && refused)) throw new Error(`${cmd} exited with ${code ?? child.signalCode}: ${stderr.slice(0, 500)}`);
    if (batch.length) yield { type: 'chunk', files: batch, ...totals() };
    yield { type: 'done', ...totals() };
  } finally {
    p.signal?.removeEventListener('abort', stop);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
