import { createHash } from 'node:crypto';

/** Longest id kept readable; longer ones are hashed (the contract allows 512, keys and logs prefer less). */
const MAX_READABLE = 200;

/**
 * The upload id of one version of a file: the same version always gets the
 * same id, so a publish repeated after a crash (published, not yet recorded)
 * is absorbed by the batcher's claim, and a new version gets a new id.
 */
export function directoryUploadId(site: string, relPath: string, size: number, mtimeMs: number): string {
  const id = `dir:${site}:${relPath}:${size}:${mtimeMs}`;
  if (id.length <= MAX_READABLE) return id;
  return `dir:${site}:sha256:${createHash('sha256').update(id).digest('hex')}`;
}
