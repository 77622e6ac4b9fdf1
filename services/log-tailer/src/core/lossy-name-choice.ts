/**
 * Which of several files a lossy logged name stands for (`a b.bin` and
 * `a_b.bin` are both logged `a_b.bin`), decided on evidence only:
 *
 * 1. The logged size. For a completed upload it is the file's size when the
 *    line was written; candidates of another size are not the upload. When
 *    none has it (a resumed upload logs only the bytes of its last session,
 *    or the file was replaced since), size says nothing and every candidate
 *    stays.
 * 2. The versions this tailer already sent. A candidate whose current version
 *    (size and mtime) was sent for an earlier line is not this line's new
 *    upload: a new upload would have given it a new mtime.
 *
 * Exactly one left: that one. Otherwise the line is undecidable and goes to
 * the operator with every candidate (see docs/decisions/0002-log-reader.md).
 */
import { sameVersion } from '@terra-transfer/ledger';
export interface NameCandidate {
  size: number;
  mtimeMs: number;
  /** Its current version was already sent by this tailer. */
  sent: boolean;
}

/** Why a line stayed undecidable: a small fixed set (words for the dead letter's detail). */
export type Undecidable = 'several_of_size_unsent' | 'several_unsent_none_of_size' | 'all_of_size_sent' | 'all_sent_none_of_size';

export type Choice = { kind: 'chosen'; index: number } | { kind: 'undecidable'; reason: Undecidable };

export function chooseCandidate(loggedSize: number, candidates: readonly NameCandidate[]): Choice {
  let pool = candidates.map((_, i) => i).filter((i) => candidates[i]!.size === loggedSize);
  const sized = pool.length > 0;
  if (!sized) pool = candidates.map((_, i) => i);
  if (pool.length === 1) return { kind: 'chosen', index: pool[0]! };
  const unsent = pool.filter((i) => !candidates[i]!.sent);
  if (unsent.length === 1) return { kind: 'chosen', index: unsent[0]! };
  if (unsent.length === 0) return { kind: 'undecidable', reason: sized ? 'all_of_size_sent' : 'all_sent_none_of_size' };
  return { kind: 'undecidable', reason: sized ? 'several_of_size_unsent' : 'several_unsent_none_of_size' };
}

/** The dead letter's words for each reason. */
export const UNDECIDABLE_TEXT: Record<Undecidable, string> = {
  several_of_size_unsent: 'several have the logged size and none was sent before',
  several_unsent_none_of_size: 'none has the logged size and several were never sent',
  all_of_size_sent: 'every one with the logged size was already sent as it is now',
  all_sent_none_of_size: 'none has the logged size and every one was already sent as it is now',
};

/**
 * The versions (path, size, mtime) this tailer sent lately, the evidence of
 * step 2 above. Bounded: the oldest is forgotten first (lines that log alike
 * come close together: one upload session, one directory). Kept in memory,
 * so a restart forgets it: a line decided only by it is then dead-lettered,
 * never guessed.
 */
export class SentVersions {
  private readonly versions = new Map<string, { size: number; mtimeMs: number }>();

  constructor(private readonly capacity: number) {}

  note(path: string, size: number, mtimeMs: number): void {
    // Re-inserted, so it counts as the most recent.
    this.versions.delete(path);
    this.versions.set(path, { size, mtimeMs });
    if (this.versions.size > this.capacity) this.versions.delete(this.versions.keys().next().value!);
  }

  has(path: string, size: number, mtimeMs: number): boolean {
    const v = this.versions.get(path);
    return v !== undefined && sameVersion(v, { size, mtimeMs });
  }

  get size(): number {
    return this.versions.size;
  }
}
