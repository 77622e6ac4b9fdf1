import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@terra-transfer/platform';
import type { WalkStats, WalkedFile } from './walker.js';
import { noteUnreadable, topLevel } from './walker.js';
import type { WalkMessage, WalkParams } from './walk-source.js';

/**
 * The sweep's walk done by a child process whose output is streamed: the
 * project's own `tree-walk` (native/tree-walk.c, the default) or GNU find.
 * Both stat every file relative to an open directory (fstatat), which Node
 * cannot do; tree-walk also issues 2.3 system calls per file where find
 * issues 5.7 (strace on the bench tree), and the walk's time is those calls.
 * Records are NUL-terminated (names may hold newlines), parsed as they
 * arrive, and handed on in chunks of old files; memory is one chunk and the
 * child's own. Same contract as walkOldFiles: hidden names are pruned at any
 * depth, symlinks are never followed, only regular files are returned,
 * unreadable directories are counted.
 *
 * Record kinds: `O<mtime> <size> <path>` an old regular file, `Y<mtime>` a
 * young one (only counted), `H` a hidden name (pruned), `S` anything that is
 * neither a file nor a directory (symlinks, FIFOs, …), and from tree-walk
 * `E<path>: <reason>` a directory it could not read (find says so on stderr).
 */

/** The built walker (`make build` runs native/build.sh); the same path from src/ (jest) and dist/. */
export const TREE_WALK_BIN = fileURLToPath(new URL('../../bin/tree-walk', import.meta.url));

/** Fails at start-up, not at the first sweep, when the configured walker's program cannot run. */
export async function assertTreeWalkBuilt(bin = TREE_WALK_BIN): Promise<void> {
  try {
    await access(bin, constants.X_OK);
  } catch {
    throw new ConfigError([{ key: 'SWEEP_WALKER', problem: `is tree-walk but ${bin} is missing or not executable: build it (make build, or services/cleaner/native/build.sh) or set SWEEP_WALKER=find` }]);
  }
}

/**
 * find's `%T@` (seconds with a nanosecond fraction; tree-walk prints the same)
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

/** GNU find with the record protocol above (`SWEEP_WALKER=find`). */
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
  return walkProcess(p, 'find', args, { okCodes: [0, 1], unreadableOnStderr: true, env: { ...process.env, LC_ALL: 'C' } });
}

/**
 * The project's walker (`SWEEP_WALKER=tree-walk`, the default): old iff
 * mtime < now - minAgeMs, exactly as isOld. The cutoff is whole milliseconds,
 * rounded up: a file in that sub-millisecond gap is listed as old and the
 * sweep's verdict (which checks the age again) counts it young.
 */
export function treeWalkOldFiles(p: WalkParams, bin = TREE_WALK_BIN): AsyncGenerator<WalkMessage> {
  return walkProcess(p, bin, (roots) => [String(Math.ceil(p.now - p.minAgeMs)), ...roots], { okCodes: [0], unreadableOnStderr: false });
}

interface ProcessOptions {
  /** Exit codes that mean the walk finished. */
  okCodes: readonly number[];
  /** find reports each unreadable directory on stderr; tree-walk as an E record. */
  unreadableOnStderr: boolean;
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
  const roots = topLevel(p.whitelist).map((rel) => `${p.realRoot}/${rel}`);
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
  const errLine = (l: string) => {
    if (!o.unreadableOnStderr || !l.startsWith('find: ')) return;
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
        } else if (kind === 0x45 /* E */) {
          stats.unreadableDirs++;
          noteUnreadable(unreadable, buf.toString('utf8', start + 1, nul));
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
    if (code === null || !o.okCodes.includes(code)) throw new Error(`${basename(cmd)} exited with ${code ?? child.signalCode}: ${stderr.slice(0, 500)}`);
    if (batch.length) yield { type: 'chunk', files: batch, ...totals() };
    yield { type: 'done', ...totals() };
  } finally {
    p.signal?.removeEventListener('abort', stop);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
