import { sameVersion } from '@terra-transfer/ledger';
import type { Version } from './version.js';

interface Entry extends Version {
  /** When this version was first seen (ms). */
  since: number;
}

/**
 * Files seen but not yet settled: the only per-file state the source keeps in
 * memory, bounded by `cap`. Entries are kept in the order their version was
 * first seen (a changed version is moved to the end), so the ones due for a
 * second look are always at the front.
 */
export class Settling {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly cap: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Notes an observation. `settled`: this version has been seen unchanged for
   * at least `settleMs`; `tracking`: it is (now) waiting; `full`: the set is at
   * its cap and this file is not tracked (a later look finds it again).
   */
  observe(path: string, v: Version, now: number, settleMs: number): 'settled' | 'tracking' | 'full' {
    const e = this.entries.get(path);
    if (e && sameVersion(e, v)) return now - e.since >= settleMs ? 'settled' : 'tracking';
    if (e) this.entries.delete(path);
    else if (this.entries.size >= this.cap) return 'full';
    this.entries.set(path, { size: v.size, mtimeMs: v.mtimeMs, since: now });
    return 'tracking';
  }

  forget(path: string): void {
    this.entries.delete(path);
  }

  /** Paths whose version was first seen at least `settleMs` ago (the oldest first), at most `limit`. */
  due(now: number, settleMs: number, limit: number): string[] {
    const out: string[] = [];
    for (const [path, e] of this.entries) {
      if (now - e.since < settleMs || out.length >= limit) break;
      out.push(path);
    }
    return out;
  }
}
