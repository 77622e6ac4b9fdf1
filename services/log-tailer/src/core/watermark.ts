/**
 * Contiguous-prefix watermark over a file's lines. Lines are published
 * concurrently and confirmed out of order; the durable cursor may only move
 * to the end of the longest prefix of lines that are all settled (confirmed,
 * or needing no publish), so a crash never skips an unconfirmed line.
 *
 * Lines must be added in file order. Memory is bounded by the number of
 * unsettled lines (the publish window) plus the settled ones behind the
 * oldest unsettled line.
 */
export class Watermark {
  private ends: number[] = [];
  private done: boolean[] = [];
  /** Index of the oldest unsettled line in the arrays. */
  private head = 0;
  /** Ticket number of array index 0 (tickets stay valid across compaction). */
  private base = 0;
  private settledTo: number;

  constructor(start: number) {
    this.settledTo = start;
  }

  /** Offset after the last line of the settled prefix. */
  get offset(): number {
    return this.settledTo;
  }

  /** Lines added and not yet part of the settled prefix. */
  get pending(): number {
    return this.ends.length - this.head;
  }

  /** Registers the next line (ending at `end`); returns a ticket to settle it with. */
  add(end: number, settled = false): number {
    if (settled && this.pending === 0) {
      // Nothing outstanding: the prefix moves at once, no ticket needed.
      this.settledTo = end;
      return -1;
    }
    this.ends.push(end);
    this.done.push(settled);
    return this.base + this.ends.length - 1;
  }

  settle(ticket: number): void {
    if (ticket < 0) return;
    const i = ticket - this.base;
    if (i < this.head || i >= this.ends.length) return; // already part of the prefix
    this.done[i] = true;
    while (this.head < this.ends.length && this.done[this.head]) {
      this.settledTo = this.ends[this.head]!;
      this.head++;
    }
    if (this.head === this.ends.length) {
      this.base += this.ends.length;
      this.ends = [];
      this.done = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.ends.length) {
      // Drop the settled prefix so memory stays bounded by the window.
      this.base += this.head;
      this.ends = this.ends.slice(this.head);
      this.done = this.done.slice(this.head);
      this.head = 0;
    }
  }
}
