/**
 * Where a Scanalyzer blob's pixels lie inside the file, read from the ZIP's
 * own records (PKWARE APPNOTE 4.3): the end-of-central-directory record (the
 * file's last 22 bytes), the one central-directory entry it points to, and
 * that entry's local header. Only the shape the instrument writes is
 * recognised: one entry named `data`, stored (method 0), no encryption, no
 * ZIP64, no archive comment. Anything else answers null and the caller reads
 * the archive with the general reader (fflate), so every other archive, good
 * or bad, is judged exactly as before. Pure: byte slices in, numbers out.
 */

export const END_RECORD_BYTES = 22;
export const CENTRAL_HEADER_BYTES = 46;
export const LOCAL_HEADER_BYTES = 30;
const END_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const ENTRY = 'data';
/** A central directory bigger than this is not the one-entry archive this reader is for. */
const MAX_CENTRAL_BYTES = 4096;

export interface CentralDirectory {
  offset: number;
  size: number;
}

/** The end record in the file's last 22 bytes (no comment): one entry, one disk, the directory right before it. */
export function readEndRecord(tail: Uint8Array, fileSize: number): CentralDirectory | null {
  if (tail.byteLength !== END_RECORD_BYTES) return null;
  const v = view(tail);
  if (v.getUint32(0, true) !== END_SIG) return null;
  const disk = v.getUint16(4, true), cdDisk = v.getUint16(6, true), onDisk = v.getUint16(8, true), total = v.getUint16(10, true);
  const size = v.getUint32(12, true), offset = v.getUint32(16, true), comment = v.getUint16(20, true);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== 1 || total !== 1 || comment !== 0) return null;
  if (size > MAX_CENTRAL_BYTES || offset + size !== fileSize - END_RECORD_BYTES) return null;
  return { offset, size };
}

export interface StoredEntry {
  /** Offset of the entry's local header. */
  localOffset: number;
  /** Bytes of the stored data (compressed size = uncompressed size). */
  size: number;
}

/** The directory's single entry: `data`, stored, not encrypted, sizes not ZIP64 markers. */
export function readCentralEntry(cd: Uint8Array): StoredEntry | null {
  if (cd.byteLength < CENTRAL_HEADER_BYTES) return null;
  const v = view(cd);
  if (v.getUint32(0, true) !== CENTRAL_SIG) return null;
  const flags = v.getUint16(8, true), method = v.getUint16(10, true);
  const csize = v.getUint32(20, true), usize = v.getUint32(24, true);
  const nameLen = v.getUint16(28, true), extraLen = v.getUint16(30, true), commentLen = v.getUint16(32, true);
  const localOffset = v.getUint32(42, true);
  if (CENTRAL_HEADER_BYTES + nameLen + extraLen + commentLen !== cd.byteLength) return null;
  if ((flags & 1) !== 0 || method !== 0 || csize !== usize || csize === 0xffffffff || localOffset === 0xffffffff) return null;
  if (latin1(cd, CENTRAL_HEADER_BYTES, nameLen) !== ENTRY) return null;
  return { localOffset, size: csize };
}

/**
 * The local header (its fixed part and name): the same entry, stored; the
 * data starts after its name and extra field and must end before the
 * central directory. Answers the data's offset in the file.
 */
export function dataOffset(local: Uint8Array, entry: StoredEntry, cd: CentralDirectory): number | null {
  if (local.byteLength !== LOCAL_HEADER_BYTES + ENTRY.length) return null;
  const v = view(local);
  if (v.getUint32(0, true) !== LOCAL_SIG) return null;
  const flags = v.getUint16(6, true), method = v.getUint16(8, true), nameLen = v.getUint16(26, true), extraLen = v.getUint16(28, true);
  if ((flags & 1) !== 0 || method !== 0 || nameLen !== ENTRY.length || latin1(local, LOCAL_HEADER_BYTES, nameLen) !== ENTRY) return null;
  const start = entry.localOffset + LOCAL_HEADER_BYTES + nameLen + extraLen;
  return start + entry.size <= cd.offset ? start : null;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function latin1(b: Uint8Array, from: number, len: number): string {
  let s = '';
  for (let i = from; i < from + len && i < b.byteLength; i++) s += String.fromCharCode(b[i]!);
  return s;
}
