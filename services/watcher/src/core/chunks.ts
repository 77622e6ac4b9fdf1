/** Splitting a finished task's arrived files into file.transferred chunks. Pure. */
import type { TransferredFile } from '@terra-transfer/contracts';

export interface ChunkLimits {
  /** Most files per chunk (≤ the contract's MAX_CHUNK_FILES). */
  files: number;
  /**
   * Most bytes per chunk: the cleaner may read every file of a chunk again for its
   * checksum within one delivery, which must end well inside the broker's
   * consumer_timeout. A file larger than this is a chunk of its own.
   */
  bytes: number;
}

export interface Chunk {
  site: string;
  /** Index among the task's chunks of this site: with the task id, the event id. */
  chunk: number;
  files: TransferredFile[];
}

/**
 * The files of each site, in the task's order, cut into chunks of at most
 * `files` files and `bytes` bytes. Deterministic: a completion redone after a
 * crash publishes the same chunks under the same ids.
 */
export function chunkBySite(files: ReadonlyArray<{ site: string; file: TransferredFile }>, limits: ChunkLimits): Chunk[] {
  const bySite = new Map<string, TransferredFile[]>();
  for (const { site, file } of files) {
    let list = bySite.get(site);
    if (!list) bySite.set(site, (list = []));
    list.push(file);
  }
  const out: Chunk[] = [];
  for (const [site, list] of bySite) {
    let current: TransferredFile[] = [];
    let bytes = 0;
    let index = 0;
    for (const f of list) {
      if (current.length > 0 && (current.length >= limits.files || bytes + f.size > limits.bytes)) {
        out.push({ site, chunk: index++, files: current });
        current = [];
        bytes = 0;
      }
      current.push(f);
      bytes += f.size;
    }
    if (current.length > 0) out.push({ site, chunk: index, files: current });
  }
  return out;
}
