import { zipSync } from 'fflate';
import { END_RECORD_BYTES, LOCAL_HEADER_BYTES, dataOffset, readCentralEntry, readEndRecord } from './zip-entry.js';

/** Finds the stored `data` of a whole archive with the three readers, as the export adapter does with positional reads. */
function locate(zip: Uint8Array): { offset: number; size: number } | null {
  const cd = readEndRecord(zip.subarray(zip.length - END_RECORD_BYTES), zip.length);
  if (!cd) return null;
  const entry = readCentralEntry(zip.subarray(cd.offset, cd.offset + cd.size));
  if (!entry) return null;
  const offset = dataOffset(zip.subarray(entry.localOffset, entry.localOffset + LOCAL_HEADER_BYTES + 4), entry, cd);
  return offset === null ? null : { offset, size: entry.size };
}

const pixels = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

describe('zip-entry: the instrument blob shape (one stored entry "data")', () => {
  it('finds the stored bytes, with or without an extra field', () => {
    const plain = zipSync({ data: pixels }, { level: 0 });
    const extra = zipSync({ data: [pixels, { level: 0, extra: { 0x5455: new Uint8Array([1, 2, 3, 4, 5]) } }] });
    expect(locate(plain)?.offset).toBe(LOCAL_HEADER_BYTES + 4);
    expect(locate(extra)?.offset).toBe(LOCAL_HEADER_BYTES + 4 + 4 + 5);
    for (const zip of [plain, extra]) {
      const at = locate(zip)!;
      expect(Buffer.from(zip.subarray(at.offset, at.offset + at.size)).equals(Buffer.from(pixels))).toBe(true);
    }
  });

  it('answers null for every other shape (the general reader decides)', () => {
    const stored = zipSync({ data: pixels }, { level: 0 });
    expect(locate(zipSync({ data: pixels }, { level: 6 }))).toBeNull(); // deflated
    expect(locate(zipSync({ other: pixels }, { level: 0 }))).toBeNull(); // no entry "data"
    expect(locate(zipSync({ data: pixels, more: pixels }, { level: 0 }))).toBeNull(); // two entries
    expect(locate(stored.subarray(0, stored.length - 5))).toBeNull(); // truncated: no end record
    expect(locate(new TextEncoder().encode('this is not a zip archive\n'.repeat(10)))).toBeNull();
    // An archive comment moves the end record away from the last 22 bytes.
    const withComment = new Uint8Array(stored.length + 3);
    withComment.set(stored);
    withComment[stored.length - 2] = 3;
    expect(locate(withComment)).toBeNull();
    // Encrypted flag on the central entry.
    const enc = stored.slice();
    const cdOffset = new DataView(enc.buffer).getUint32(enc.length - END_RECORD_BYTES + 16, true);
    enc[cdOffset + 8] = enc[cdOffset + 8]! | 1;
    expect(locate(enc)).toBeNull();
    // Sizes that claim more data than lies before the central directory.
    const big = stored.slice();
    new DataView(big.buffer).setUint32(cdOffset + 20, pixels.length + 10, true);
    new DataView(big.buffer).setUint32(cdOffset + 24, pixels.length + 10, true);
    expect(locate(big)).toBeNull();
    // A local header that does not match (signature broken).
    const local = stored.slice();
    local[0] = 0;
    expect(locate(local)).toBeNull();
  });
});
