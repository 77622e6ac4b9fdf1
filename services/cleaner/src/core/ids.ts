import { createHash } from 'node:crypto';

const MAX_ID = 512;
const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 40);

/**
 * Upload id (and event id) of a file the cleaner sends: `sweep:<path>:<size>:<mtimeMs>`,
 * deterministic so a second sweep of the same version is recognisable
 * downstream. Paths too long for the 512-character id are hashed.
 */
export function sweepUploadId(path: string, size: number, mtimeMs: number): string {
  const id = `sweep:${path}:${size}:${mtimeMs}`;
  return id.length <= MAX_ID ? id : `sweep:sha256:${digest(`${path}\0${size}\0${mtimeMs}`)}:${size}:${mtimeMs}`;
}

/** Id of the file.deleted event for one verified version: the same on every redelivery. */
export function deletedEventId(path: string, size: number, mtimeMs: number, taskId: string): string {
  return `deleted:${digest(`${path}\0${size}\0${mtimeMs}\0${taskId}`)}`;
}

/**
 * Id of the file.deleted event for a chunk's outcome, from what it says (each
 * file's deletedEventId, each refusal): a redelivery that finds the same makes
 * the same id; one that finds less (files already deleted) says something else.
 */
export function deletedChunkEventId(parts: readonly string[]): string {
  return `deleted:${digest(parts.join('\n'))}`;
}

/**
 * Upload id (and event id) of a failed version sent again as a new round:
 * `resend:<path>:<size>:<mtimeMs>:<give-ups>`. Deterministic, so a resend
 * published twice (crash before the ledger noted it) is recognisable, and
 * distinct per round, so the round's own file.failed names it.
 */
export function resendUploadId(path: string, size: number, mtimeMs: number, giveUps: number): string {
  const id = `resend:${path}:${size}:${mtimeMs}:${giveUps}`;
  return id.length <= MAX_ID ? id : `resend:sha256:${digest(`${path}\0${size}\0${mtimeMs}`)}:${size}:${mtimeMs}:${giveUps}`;
}

/**
 * Upload id (and event id) of a file submitted by hand (POST /api/v1/files):
 * `api:<path>:<size>:<mtimeMs>`. Deterministic per version, so submitting the
 * same version twice is recognised downstream (the batcher skips what is in
 * flight or transferred) instead of sending it twice.
 */
export function apiUploadId(path: string, size: number, mtimeMs: number): string {
  const id = `api:${path}:${size}:${mtimeMs}`;
  return id.length <= MAX_ID ? id : `api:sha256:${digest(`${path}\0${size}\0${mtimeMs}`)}:${size}:${mtimeMs}`;
}
