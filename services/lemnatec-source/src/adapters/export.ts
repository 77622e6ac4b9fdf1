import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { TileRow } from '../core/metadata.js';
import { pixelLayout } from '../core/pixels.js';

type ExportFailure = 'BLOB_MISSING' | 'BLOB_NOT_ZIP' | 'BLOB_NO_DATA' | 'BLOB_SIZE_MISMATCH' | 'BLOB_UNREADABLE' | 'BLOB_OUTSIDE_ROOT' | 'PNG_ENCODE';
export type ExportResult = { ok: true; png: Buffer } | { ok: false; code: ExportFailure; detail: string; blob: string; retry: boolean };

/**
 * Where a tile's blob is: image_file_table's path when the database has it,
 * else `<date>/blob<oid>` (the Danforth tools' rule; the date folder of the
 * snapshot's day, UTC here), under `<blobRoot>/<database>/`. Never outside the root.
 */
export function blobFile(blobRoot: string, database: string, tile: TileRow, snapshotTime: Date): string | null {
  const base = resolve(blobRoot, database);
  const rel = tile.blobPath ?? `${snapshotTime.toISOString().slice(0, 10)}/blob${tile.rawImageOid}`;
  const abs = resolve(base, rel);
  return abs.startsWith(base + sep) ? abs : null;
}

/**
 * One image out of its blob: a ZIP holding one entry `data` of raw row-major
 * pixels (8- or 16-bit by size), rotated 180° when rotate_flip_type is set
 * (Danforth's rule), encoded as PNG by sharp (libvips: native, off the event
 * loop). The blob is only read.
 */
export async function exportImage(file: string | null, tile: TileRow, compressionLevel: number): Promise<ExportResult> {
  if (file === null) return { ok: false, code: 'BLOB_OUTSIDE_ROOT', detail: `blob path ${JSON.stringify(tile.blobPath)} leaves the blob root`, blob: String(tile.blobPath), retry: false };
  let zip: Buffer;
  try {
    zip = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, code: 'BLOB_MISSING', detail: `${file}: no such file`, blob: file, retry: true };
    return { ok: false, code: 'BLOB_UNREADABLE', detail: `${file}: ${code ?? String(err)}`, blob: file, retry: true };
  }
  let data: Uint8Array | undefined;
  try {
    data = unzipSync(zip, { filter: (f) => f.name === 'data' })['data'];
  } catch (err) {
    return { ok: false, code: 'BLOB_NOT_ZIP', detail: `${file}: not a ZIP archive (${(err as Error).message})`, blob: file, retry: false };
  }
  if (!data) return { ok: false, code: 'BLOB_NO_DATA', detail: `${file}: the ZIP has no entry "data"`, blob: file, retry: false };
  const layout = pixelLayout(data.byteLength, tile.width, tile.height);
  if (!layout.ok) return { ok: false, code: layout.reason, detail: `${file}: ${layout.detail}`, blob: file, retry: false };
  try {
    const pixels = layout.bits === 8 ? data : new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    // One grey channel either way: without 'b-w', libvips writes an 8-bit frame as sRGB (three channels, 3× the bytes to compress and move).
    let img = sharp(pixels, { raw: { width: tile.width, height: tile.height, channels: 1 } }).toColourspace(layout.bits === 16 ? 'grey16' : 'b-w');
    if (tile.rotateFlipType !== 0) img = img.rotate(180);
    return { ok: true, png: await img.png({ compressionLevel }).toBuffer() };
  } catch (err) {
    return { ok: false, code: 'PNG_ENCODE', detail: `${file}: ${(err as Error).message}`, blob: file, retry: false };
  }
}
