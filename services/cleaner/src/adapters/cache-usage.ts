import { statfs } from 'node:fs/promises';

export interface CacheUsage {
  size: number;
  used: number;
  /** Available to unprivileged users (bavail): what the FTP server can still write. */
  free: number;
}

/** Size, used and free bytes of the file system holding the cache root. */
export async function cacheUsage(root: string): Promise<CacheUsage> {
  const s = await statfs(root);
  const size = s.blocks * s.bsize;
  return { size, used: (s.blocks - s.bfree) * s.bsize, free: s.bavail * s.bsize };
}
