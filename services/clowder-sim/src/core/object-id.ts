/**
 * MongoDB-like ObjectIds: 24 hex digits whose first 8 are the creation time in
 * seconds. The rest is a counter, and every id is strictly greater than the
 * previous one (even within a second or after a clock step back), so "the
 * smallest id" is always "the oldest record", as clients that converge on the
 * lowest id assume.
 */
const OBJECT_ID = /^[0-9a-f]{24}$/;

export class ObjectIdGenerator {
  private last = 0n;

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    const floor = BigInt(Math.floor(this.now() / 1000)) << 64n;
    this.last = floor > this.last ? floor : this.last + 1n;
    return this.last.toString(16).padStart(24, '0');
  }

  /** Replay: ids already issued must never be issued again. */
  observe(id: string): void {
    if (!OBJECT_ID.test(id)) return;
    const v = BigInt(`0x${id}`);
    if (v > this.last) this.last = v;
  }
}

export function isObjectId(s: string): boolean {
  return OBJECT_ID.test(s);
}
