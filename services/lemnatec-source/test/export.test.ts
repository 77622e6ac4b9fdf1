import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { exportImage } from '../src/adapters/export.js';
import { PixelBuffers } from '../src/adapters/pixel-buffers.js';
import type { TileRow } from '../src/core/metadata.js';

const W = 37, H = 11;
const tile = (o: Partial<TileRow> = {}): TileRow => ({ tileId: 1, tiledImageId: 1, cameraLabel: 'VIS_SV_0_z1_h1_g0_e82', rawImageOid: 1, dataformat: 1, width: W, height: H, frame: 0, rotateFlipType: 0, blobPath: null, ...o });
const raw8 = Buffer.from(Array.from({ length: W * H }, (_, i) => (i * 13 + (i >> 3)) & 0xff));
const raw16 = Buffer.from(Array.from({ length: W * H * 2 }, (_, i) => (i * 29 + 7) & 0xff));

describe('exportImage: blob → PNG', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lt-export-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const blob = async (name: string, bytes: Uint8Array | string) => {
    const p = join(dir, name);
    await writeFile(p, bytes);
    return p;
  };
  /** The PNG's header facts and its pixels, decoded as they are stored (one grey channel, 8 or 16 bits). */
  const pixelsOf = async (png: Buffer) => {
    const meta = await sharp(png).metadata();
    const data = meta.depth === 'ushort' ? await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer() : await sharp(png).toColourspace('b-w').raw().toBuffer();
    return { info: { width: meta.width, height: meta.height, channels: meta.channels, depth: meta.depth, format: meta.format }, data };
  };

  it('a stored entry is read at its offset into a reused buffer; the PNG holds the blob\'s pixels (8-bit grey, 16-bit grey16)', async () => {
    const buffers = new PixelBuffers(4);
    const r8 = await exportImage(await blob('s8', zipSync({ data: raw8 }, { level: 0 })), tile(), 3, buffers);
    if (!r8.ok) throw new Error(r8.detail);
    const p8 = await pixelsOf(r8.png);
    expect(p8.info).toMatchObject({ width: W, height: H, channels: 1, depth: 'uchar', format: 'png' });
    expect(p8.data.equals(raw8)).toBe(true);
    // The fast path gave its buffer back: the next image of that size uses it again.
    expect(buffers.held).toBe(1);
    const r16 = await exportImage(await blob('s16', zipSync({ data: raw16 }, { level: 0 })), tile({ cameraLabel: 'NIR_SV_0_z1_h1_g0_e35' }), 3, buffers);
    if (!r16.ok) throw new Error(r16.detail);
    const p16 = await pixelsOf(r16.png);
    expect(p16.info).toMatchObject({ width: W, height: H, channels: 1, depth: 'ushort' });
    // sharp hands 16-bit raw out in native (little-endian) order, as the blob stores it.
    expect(p16.data.equals(raw16)).toBe(true);
    expect(buffers.held).toBe(2);
    // Rotated 180° when rotate_flip_type says so.
    const rot = await exportImage(await blob('s8r', zipSync({ data: raw8 }, { level: 0 })), tile({ rotateFlipType: 6 }), 3, buffers);
    if (!rot.ok) throw new Error(rot.detail);
    expect((await pixelsOf(rot.png)).data.equals(Buffer.from(raw8).reverse())).toBe(true);
  });

  it('a deflated entry, or one in an archive of another shape, goes through fflate with the same result', async () => {
    const buffers = new PixelBuffers(4);
    for (const zip of [zipSync({ data: raw8 }, { level: 6 }), zipSync({ data: raw8, extra: new Uint8Array(3) }, { level: 0 })]) {
      const r = await exportImage(await blob(`g${zip.length}`, zip), tile(), 3, buffers);
      if (!r.ok) throw new Error(r.detail);
      expect((await pixelsOf(r.png)).data.equals(raw8)).toBe(true);
    }
    expect(buffers.held).toBe(0);
  });

  it('bad blobs fail that image with the reason; a buffer taken is given back', async () => {
    const buffers = new PixelBuffers(4);
    const stored = zipSync({ data: raw8 }, { level: 0 });
    const cases: Array<[string, Uint8Array | string | null, string, boolean]> = [
      ['missing', null, 'BLOB_MISSING', true],
      ['not-zip', 'this is not a zip archive\n', 'BLOB_NOT_ZIP', false],
      ['truncated', stored.subarray(0, stored.length - 30), 'BLOB_NOT_ZIP', false],
      ['no-data', zipSync({ other: raw8 }, { level: 0 }), 'BLOB_NO_DATA', false],
      ['wrong-size', zipSync({ data: raw8.subarray(0, raw8.length - 17) }, { level: 0 }), 'BLOB_SIZE_MISMATCH', false],
      ['wrong-size-deflated', zipSync({ data: raw8.subarray(0, raw8.length - 17) }, { level: 6 }), 'BLOB_SIZE_MISMATCH', false],
    ];
    for (const [name, bytes, code, retry] of cases) {
      const file = bytes === null ? join(dir, name) : await blob(name, bytes);
      const r = await exportImage(file, tile(), 3, buffers);
      expect(r).toMatchObject({ ok: false, code, retry, blob: file });
    }
    expect((await exportImage(await blob('wrong-size2', zipSync({ data: raw8.subarray(0, 5) }, { level: 0 })), tile(), 3, buffers) as { detail: string }).detail).toMatch(/raw data holds 5 bytes; 37×11 needs 407/);
    // The stored wrong-size blobs were read by the fast path and their buffer given back (the second used the first's again).
    expect(buffers.held).toBe(1);
    expect(await exportImage(null, tile({ blobPath: '../x' }), 3, buffers)).toMatchObject({ ok: false, code: 'BLOB_OUTSIDE_ROOT' });
  });
});

describe('PixelBuffers', () => {
  it('hands out the smallest idle buffer that fits, and keeps at most `keep`', () => {
    const p = new PixelBuffers(2);
    const a = p.take(100), b = p.take(1000), c = p.take(10);
    expect([a.byteLength, b.byteLength, c.byteLength]).toEqual([100, 1000, 10]);
    p.give(a);
    p.give(b);
    p.give(c);
    expect(p.held).toBe(2);
    const d = p.take(50);
    expect(d.buffer).toBe(a.buffer);
    expect(d.byteLength).toBe(50);
    expect(p.take(500).buffer).toBe(b.buffer);
    expect(p.take(5000).buffer).not.toBe(b.buffer);
  });
});
