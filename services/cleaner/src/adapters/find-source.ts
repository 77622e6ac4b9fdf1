import { spawn } from 'node:child_process';
import type { WalkStats, WalkedFile } from './walker.js';
import { topLevel } from './walker.js';
import type { WalkMessage, WalkParams } from './walk-source.js';

/**
 * The sweep's walk done by GNU find, streamed: find stats every file with
 * fstatat relative to an open directory, which Node cannot do, so it walks
 * a large tree about twice as fast as any Node walker (measured on the
 * 1,000,000-file bench tree). Records are NUL-terminated (names may hold
 * newlines), parsed as they arrive, and handed on in chunks of old files;
 * memory is one chunk and find's own. Same contract as walkOldFiles: hidden
 * names are pruned at any depth, symlinks are never followed (find -P), only
 * regular files are returned, unreadable directories are counted.
 *
 * Record kinds: `O<mtime> <size> <path>` an old regular file, `Y<mtime>` a
 * young one (only counted), `H` a hidden name (pruned), `S` anything that is
 * neither a file nor a directory (symlinks, FIFOs, …).
 */
/**
 * find's `%T@` (seconds with a nanosecond fraction) as the mtimeMs Node's
 * lstat gives for the same file, bit for bit: Node computes
 * `sec * 1e3 + nsec / 1e6`, and versions are compared on that number.
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

export async function* findOldFiles(p: WalkParams): AsyncGenerator<WalkMessage> {
  const roots = topLevel(p.whitelist).map((rel) => `${p.realRoot}/${rel}`);
  const stats: WalkStats = { unreadableDirs: 0, skippedSpecial: 0, hidden: 0 };
  let scanned = 0;
  let young = 0;
  let oldestYoungMtimeMs: number | null = null;
  const totals = () => ({ scanned, young, oldestYoungMtimeMs, stats: { ...stats } });
  if (roots.length === 0) {
    yield { type: 'done', ...totals() };
    return;
  }
  const cutoffSec = (p.now - p.minAgeMs) / 1000;
  const args = [
    '-P', ...roots, '-mindepth', '1',
    '(', '-name', '.*', '-printf', 'H\\0', '-prune', ')',
    '-o', '(', '-type', 'f', '-newermt', `@${cutoffSec.toFixed(3)}`, '-printf', 'Y%T@\\0', ')',
    '-o', '(', '-type', 'f', '-printf', 'O%T@ %s %p\\0', ')',
    '-o', '(', '!', '-type', 'd', '-printf', 'S\\0', ')',
  ];
  const find = spawn('find', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => void find.kill('SIGKILL');
  p.signal?.addEventListener('abort', stop, { once: true });
  let stderr = '';
  find.stderr.setEncoding('utf8');
  find.stderr.on('data', (d: string) => {
    // One line per directory find could not read (vanished, permission): the walk goes on.
    stats.unreadableDirs += d.split('\n').filter((l) => l.includes('find:')).length;
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    find.once('error', reject);
    find.once('close', (code) => resolve(code));
  });
  const prefix = `${p.realRoot}/`;
  let batch: WalkedFile[] = [];
  let sinceYield = 0;
  let rest: Buffer = Buffer.alloc(0);
  try {
    for await (const data of find.stdout as AsyncIterable<Buffer>) {
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
    // find exits 1 when some directory could not be read (counted above); anything else is a failure.
    if (code !== 0 && code !== 1) throw new Error(`find exited with ${code}: ${stderr.slice(0, 500)}`);
    if (batch.length) yield { type: 'chunk', files: batch, ...totals() };
    yield { type: 'done', ...totals() };
  } finally {
    p.signal?.removeEventListener('abort', stop);
    if (find.exitCode === null) find.kill('SIGKILL');
  }
}
