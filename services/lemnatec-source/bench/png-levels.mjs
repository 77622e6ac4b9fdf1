// PNG encoding cost per zlib level, as the lemnatec source encodes (sharp, one grey channel, no filter):
// one VIS frame (2454×2056 8-bit) and one NIR frame (636×508 16-bit) of the test Scanalyzer's pixels
// (packages/stack/src/scanalyzer.ts: a gradient with texture), BENCH_REPS encodes each, one at a time.
// Also the old encoding (8-bit written as 3-channel sRGB) at level 1. Prints one JSON line; progress to stderr.
//   node services/lemnatec-source/bench/png-levels.mjs
import { createRequire } from 'node:module';
const require = createRequire(new URL('../package.json', import.meta.url));
const sharp = require('sharp');

const REPS = Number(process.env.BENCH_REPS ?? 10);
const LEVELS = (process.env.BENCH_LEVELS ?? '0,1,2,3,6,9').split(',').map(Number);
sharp.concurrency(1);
function frame(width, height, bpp) {
  const raw = Buffer.alloc(width * height * bpp);
  for (let i = 0; i < raw.length; i++) raw[i] = ((i % width) * 7 + Math.floor(i / width) * 3 + ((i * 2654435761) >>> 28)) & 0xff;
  return raw;
}
const vis = frame(2454, 2056, 1);
const nir = frame(636, 508, 2);
const nir16 = new Uint16Array(nir.buffer.slice(nir.byteOffset, nir.byteOffset + nir.byteLength));
async function time(encode) {
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) bytes = (await encode()).length;
  const c = process.cpuUsage(cpu0);
  return { ms_per_frame: Number(((performance.now() - t0) / REPS).toFixed(1)), cpu_ms_per_frame: Number(((c.user + c.system) / 1000 / REPS).toFixed(1)), bytes };
}
const out = {};
for (const level of LEVELS) {
  out[`level_${level}`] = {
    vis: await time(() => sharp(vis, { raw: { width: 2454, height: 2056, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: level }).toBuffer()),
    nir: await time(() => sharp(nir16, { raw: { width: 636, height: 508, channels: 1 } }).toColourspace('grey16').png({ compressionLevel: level }).toBuffer()),
  };
  process.stderr.write(`level ${level}: ${JSON.stringify(out[`level_${level}`])}\n`);
}
out.srgb_level_1 = { vis: await time(() => sharp(vis, { raw: { width: 2454, height: 2056, channels: 1 } }).png({ compressionLevel: 1 }).toBuffer()) };
process.stderr.write(`old sRGB, level 1: ${JSON.stringify(out.srgb_level_1)}\n`);
process.stdout.write(`${JSON.stringify({ reps: REPS, vis_raw_bytes: vis.length, nir_raw_bytes: nir.length, ...out })}\n`);
