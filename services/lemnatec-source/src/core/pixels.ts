/**
 * What a tile's raw pixel block is: row-major, no header, 8-bit when it holds
 * width × height bytes, 16-bit (little-endian) when twice that. The
 * `dataformat` codes are not stable across sites and eras (reference §4), so
 * the size decides; any other size is a corrupt blob.
 */
export type PixelLayout = { ok: true; bits: 8 | 16 } | { ok: false; reason: 'BLOB_SIZE_MISMATCH'; detail: string };

export function pixelLayout(bytes: number, width: number, height: number): PixelLayout {
  const px = width * height;
  if (width > 0 && height > 0 && bytes === px) return { ok: true, bits: 8 };
  if (width > 0 && height > 0 && bytes === 2 * px) return { ok: true, bits: 16 };
  return { ok: false, reason: 'BLOB_SIZE_MISMATCH', detail: `raw data holds ${bytes} bytes; ${width}×${height} needs ${px} (8-bit) or ${2 * px} (16-bit)` };
}
