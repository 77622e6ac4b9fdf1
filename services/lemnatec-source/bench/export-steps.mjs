// CPU per snapshot of the source's export path alone (blob → PNG → staged file, fsynced), as the source runs it
// (8 snapshots × 4 images in flight, sharp, zlib LEVEL, one grey channel), for ways of reading the blob:
//   V=base    readFile + fflate unzipSync (the source before decision 0033)
//   V=direct  the stored entry read at its offset into a fresh buffer
//   V=pool    the same into buffers used again (the source since decision 0033)
//   OUT=file  sharp writes the PNG itself (toFile, then fsync) instead of toBuffer + write
// CACHE=0: sharp.cache(false); CONC=n: sharp.concurrency(n). S snapshots of the test Scanalyzer's pixels
// (10 images: 5 VIS 2454×2056 8-bit, 5 NIR 636×508 16-bit). First GEN=1 writes the blobs (S=24: 650 MB in /tmp).
//   S=24 GEN=1 node services/lemnatec-source/bench/export-steps.mjs
//   S=24 V=pool node services/lemnatec-source/bench/export-steps.mjs
// Prints one JSON line; CPU is the whole process's (process.cpuUsage: every thread, libvips' included).
import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile, open, rename, stat, rm } from 'node:fs/promises';
import { join } from 'node:path';
const require = createRequire(new URL('../package.json', import.meta.url));
const sharp = require('sharp');
const { unzipSync, zipSync } = require('fflate');
const S = Number(process.env.S ?? 16), SNAP_INFLIGHT = Number(process.env.SNAPS ?? 8), IMG_INFLIGHT = Number(process.env.IMGS ?? 4);
const V = process.env.V ?? 'base';
const LEVEL = Number(process.env.LEVEL ?? 3);
if (process.env.CACHE === '0') sharp.cache(false);
if (process.env.CONC) sharp.concurrency(Number(process.env.CONC));
const root = process.env.DIR ?? '/tmp/lemnatec-export-steps';
const views = [...Array(5)].map((_, i) => ({ w: 2454, h: 2056, b: 1, n: `VIS${i}` })).concat([...Array(5)].map((_, i) => ({ w: 636, h: 508, b: 2, n: `NIR${i}` })));
function frame(w, h, b) { const raw = Buffer.alloc(w * h * b); for (let i = 0; i < raw.length; i++) raw[i] = ((i % w) * 7 + Math.floor(i / w) * 3 + ((i * 2654435761) >>> 28)) & 0xff; return raw; }
if (process.env.GEN) {
  await rm(root, { recursive: true, force: true });
  const fr = { 1: frame(2454, 2056, 1), 2: frame(636, 508, 2) };
  for (let s = 0; s < S; s++) { await mkdir(join(root, 'blobs', String(s)), { recursive: true }); for (const v of views) await writeFile(join(root, 'blobs', String(s), v.n), zipSync({ data: fr[v.b] }, { level: 0 })); }
  process.exit(0);
}
await rm(join(root, 'out'), { recursive: true, force: true });
async function stage(rel, data) {
  const path = join(root, 'out', rel); await mkdir(join(path, '..'), { recursive: true });
  const tmp = path + '.tmp'; const fh = await open(tmp, 'w'); try { await fh.writeFile(data); if (process.env.NOSYNC !== '1') await fh.sync(); } finally { await fh.close(); }
  await rename(tmp, path); return stat(path);
}
// The stored entry read at its offset (the local header at 0, as fflate writes a one-entry archive; the source checks the end record and central entry too).
async function readStored(file) {
  const fh = await open(file, 'r');
  try {
    const hdr = Buffer.allocUnsafe(30 + 64);
    const { bytesRead } = await fh.read(hdr, 0, hdr.length, 0);
    if (bytesRead < 30 || hdr.readUInt32LE(0) !== 0x04034b50) throw new Error('not zip');
    const method = hdr.readUInt16LE(8), csize = hdr.readUInt32LE(18), nlen = hdr.readUInt16LE(26), xlen = hdr.readUInt16LE(28);
    const name = hdr.toString('latin1', 30, 30 + nlen);
    if (method !== 0 || name !== 'data') throw new Error('fallback');
    const buf = V === 'pool' ? take(csize) : Buffer.allocUnsafe(csize);
    const got = await fh.read(buf, 0, csize, 30 + nlen + xlen);
    if (got.bytesRead !== csize) throw new Error('short read');
    return buf;
  } finally { await fh.close(); }
}
const pool = [];
function take(n) { const i = pool.findIndex((b) => b.length >= n); const b = i >= 0 ? pool.splice(i, 1)[0] : Buffer.allocUnsafeSlow(5045424); return b.subarray(0, n); }
function give(b) { if (V === 'pool') pool.push(Buffer.from(b.buffer, 0, b.buffer.byteLength)); }
async function exportOne(s, v) {
  const file = join(root, 'blobs', String(s), v.n);
  let data;
  if (V === 'direct' || V === 'pool') data = await readStored(file);
  else { const zip = await readFile(file); data = unzipSync(zip, { filter: (f) => f.name === 'data' })['data']; }
  const pixels = v.b === 1 ? data : new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  let img = sharp(pixels, { raw: { width: v.w, height: v.h, channels: 1 } }).toColourspace(v.b === 2 ? 'grey16' : 'b-w');
  if (process.env.OUT === 'file') {
    const path = join(root, 'out', `${s}/${v.n}.png`); await mkdir(join(path, '..'), { recursive: true });
    await img.png({ compressionLevel: LEVEL }).toFile(path + '.tmp'); give(data);
    const fh = await open(path + '.tmp', 'r+'); try { if (process.env.NOSYNC !== '1') await fh.sync(); } finally { await fh.close(); }
    await rename(path + '.tmp', path); return stat(path);
  }
  const png = await img.png({ compressionLevel: LEVEL }).toBuffer(); give(data);
  return stage(`${s}/${v.n}.png`, png);
}
async function forEachLimit(items, limit, fn) { let next = 0; await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => { while (next < items.length) await fn(items[next++]); })); }
const c0 = process.cpuUsage(); const t0 = performance.now();
let bytes = 0;
await forEachLimit([...Array(S).keys()], SNAP_INFLIGHT, async (s) => forEachLimit(views, IMG_INFLIGHT, async (v) => { const st = await exportOne(s, v); bytes += st.size; }));
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ V, OUT: process.env.OUT ?? "buffer", LEVEL, CACHE: process.env.CACHE ?? 'default', CONC: process.env.CONC ?? 'default', S, cpu_ms_per_snapshot: +((c.user + c.system) / 1000 / S).toFixed(1), user: +(c.user / 1000 / S).toFixed(1), sys: +(c.system / 1000 / S).toFixed(1), wall_ms_per_snapshot: +((performance.now() - t0) / S).toFixed(1), png_bytes_per_snapshot: Math.round(bytes / S) }));
