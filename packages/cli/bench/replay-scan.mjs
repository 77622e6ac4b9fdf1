// `terra replay`'s log reading, measured (outside src/: never shipped). Usage:
//   node packages/cli/bench/replay-scan.mjs [dir] [lines]
// Writes <dir>/xferlog.1.gz (half the lines, gzipped) and <dir>/xferlog (the other half) when absent,
// then reads both as the replay does (gunzip, latin1 lines, the log-tailer's parser, path mapping,
// whitelist, range) and prints one JSON line. The ledger lookups and submissions that follow are not in it.
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { logFiles, readLog } from '../dist/commands/replay.js';
import { newScan, scanLine } from '../dist/core/replay.js';

const [dir = '/tmp/terra-replay-bench', linesArg = '1000000'] = process.argv.slice(2);
const LINES = Number(linesArg);
const log = `${dir}/xferlog`;
const pad = (n) => String(n).padStart(2, '0');
function* lines(from, to) {
  for (let i = from; i < to; i++) {
    const s = Math.floor(i / 20);
    yield `Tue Nov 24 ${pad(Math.floor(s / 3600) % 24)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)} 2026 1 192.168.10.21 ${1000 + (i % 5000)} /gantry_data/MovingSensor/stereoTop/2026-11-24/2026-11-24__${pad(Math.floor(i / 3600) % 24)}-00-00-000/file_${i}.bin b _ i r gantry ftp 0 * c\n`;
  }
}
if (!(await stat(log).then(() => true, () => false))) {
  await mkdir(dir, { recursive: true });
  process.stderr.write(`writing ${LINES} lines to ${dir}\n`);
  await pipeline(Readable.from(lines(0, LINES / 2)), createGzip(), createWriteStream(`${log}.1.gz`));
  await pipeline(Readable.from(lines(LINES / 2, LINES)), createWriteStream(log));
}
const files = await logFiles(log, undefined);
const opts = { from: Date.parse('2026-11-24T00:00:00Z'), to: Date.parse('2026-11-25T00:00:00Z'), timeZone: 'UTC', mapping: { ftpRoot: '/gantry_data', userRoots: {} }, whitelist: ['MovingSensor/stereoTop'] };
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const scan = newScan();
const never = new AbortController().signal;
const t0 = performance.now();
for (const f of files) await readLog(f, (l) => scanLine(scan, l, opts), never);
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
process.stdout.write(`${JSON.stringify({ bench: 'replay-scan', files: files.length, lines: scan.lines, uploads: scan.uploads.size, seconds: Number(seconds.toFixed(2)), linesPerSecond: Math.round(scan.lines / seconds), peakRssMb: Number((peak / 2 ** 20).toFixed(1)) })}\n`);
