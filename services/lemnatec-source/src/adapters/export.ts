import { open, type FileHandle } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { ERROR_CODES, type Catalogued } from '@terra-transfer/platform';
import type { TileRow } from '../core/metadata.js';
import { pixelLayout } from '../core/pixels.js';
import { CENTRAL_HEADER_BYTES, END_RECORD_BYTES, LOCAL_HEADER_BYTES, dataOffset, readCentralEntry, readEndRecord } from '../core/zip-entry.js';
import type { PixelBuffers } from './pixel-buffers.js';

type ExportFailure = Catalogued<'BLOB_MISSING' | 'BLOB_NOT_ZIP' | 'BLOB_NO_DATA' | 'BLOB_SIZE_MISMATCH' | 'BLOB_UNREADABLE' | 'BLOB_OUTSIDE_ROOT' | 'PNG_ENCODE'>;
export type ExportResult = { ok: true; png: Buffer } | { ok: false; code: ExportFailure; detail: string; blob: string; retry: boolean };

/** A failed export; whether to try the blob again is the catalogue's decision for the code. */
const failed = (code: ExportFailure, detail: string, blob: string): ExportResult => ({ ok: false, code, detail, blob, retry: ERROR_CODES[code].decision === 'retry' });

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
 * loop). The blob is only read. The instrument's usual blob (one stored
 * entry) is read straight from the entry's offset into a reused buffer; any
 * other archive goes through fflate as a whole.
 */
export async function exportImage(file: string | null, tile: TileRow, compressionLevel: number, buffers: PixelBuffers): Promise<ExportResult> {
  if (file === null) return failed('BLOB_OUTSIDE_ROOT', `blob path ${JSON.stringify(tile.blobPath)} leaves the blob root`, String(tile.blobPath));
  let read: Awaited<ReturnType<typeof readBlob>>;
  try {
    read = await readBlob(file, buffers);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return failed('BLOB_MISSING', `${file}: no such file`, file);
    return failed('BLOB_UNREADABLE', `${file}: ${code ?? String(err)}`, file);
  }
  const pooled = read.stored ? read.data : null;
  try {
    let data: Uint8Array | undefined;
    if (read.stored) data = read.data;
    else {
      try {
        data = unzipSync(read.zip, { filter: (f) => f.name === 'data' })['data'];
      } catch (err) {
        return failed('BLOB_NOT_ZIP', `${file}: not a ZIP archive (${(err as Error).message})`, file);
      }
    }
    if (!data) return failed('BLOB_NO_DATA', `${file}: the ZIP has no entry "data"`, file);
    const layout = pixelLayout(data.byteLength, tile.width, tile.height);
    if (!layout.ok) return failed(layout.reason, `${file}: ${layout.detail}`, file);
    try {
      return { ok: true, png: await encodePng(data, layout.bits, tile, compressionLevel) };
    } catch (err) {
      return failed('PNG_ENCODE', `${file}: ${(err as Error).message}`, file);
    }
  } finally {
    // Only once the encoder is done with the pixels.
    if (pooled) buffers.give(pooled);
  }
}

/** One grey channel either way: without 'b-w', libvips writes an 8-bit frame as sRGB (three channels, 3× the bytes to compress and move). */
async function encodePng(data: Uint8Array, bits: 8 | 16, tile: TileRow, compressionLevel: number): Promise<Buffer> {
  // 16-bit pixels as a Uint16Array view (native order, little-endian like the blob); copied only when not 2-aligned.
  const pixels = bits === 8 ? data
    : data.byteOffset % 2 === 0 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  let img = sharp(pixels, { raw: { width: tile.width, height: tile.height, channels: 1 } }).toColourspace(bits === 16 ? 'grey16' : 'b-w');
  if (tile.rotateFlipType !== 0) img = img.rotate(180);
  return img.png({ compressionLevel }).toBuffer();
}

/**
 * The blob's bytes: the stored `data` entry read at its offset into a pooled
 * buffer when the archive is the instrument's one-entry stored ZIP
 * (core/zip-entry.ts checks its end record, central entry and local header),
 * else the whole file for fflate. Errors of the file system are thrown.
 */
async function readBlob(file: string, buffers: PixelBuffers): Promise<{ stored: true; data: Buffer } | { stored: false; zip: Buffer }> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const at = await storedEntry(fh, size);
    if (at) {
      const data = buffers.take(at.size);
      try {
        if (await readFully(fh, data, at.offset)) return { stored: true, data };
      } catch (err) {
        buffers.give(data);
        throw err;
      }
      buffers.give(data);
    }
    return { stored: false, zip: await fh.readFile() };
  } finally {
    await fh.close();
  }
}

/** Where the stored `data` entry's bytes are, or null when the archive has any other shape. */
async function storedEntry(fh: FileHandle, fileSize: number): Promise<{ offset: number; size: number } | null> {
  if (fileSize < END_RECORD_BYTES + CENTRAL_HEADER_BYTES + LOCAL_HEADER_BYTES) return null;
  const tail = Buffer.allocUnsafe(END_RECORD_BYTES);
  if (!(await readFully(fh, tail, fileSize - END_RECORD_BYTES))) return null;
  const cd = readEndRecord(tail, fileSize);
  if (!cd) return null;
  const central = Buffer.allocUnsafe(cd.size);
  if (!(await readFully(fh, central, cd.offset))) return null;
  const entry = readCentralEntry(central);
  if (!entry) return null;
  const local = Buffer.allocUnsafe(LOCAL_HEADER_BYTES + 4);
  if (!(await readFully(fh, local, entry.localOffset))) return null;
  const offset = dataOffset(local, entry, cd);
  return offset === null ? null : { offset, size: entry.size };
}

/** Fills `into` from `position`; false when the file ends first (it changed under us: the general reader decides). */
async function readFully(fh: FileHandle, into: Buffer, position: number): Promise<boolean> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}
