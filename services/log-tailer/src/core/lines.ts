/**
 * Splits a byte stream into lines with their file offsets, in bounded memory.
 * A line longer than `maxLineBytes` is not buffered: its bytes are dropped up
 * to the next newline and it comes out as one `too_long` line, so its offset
 * can be reported and the line after it is read normally.
 */
export interface Line {
  /** Offset of the line's first byte. */
  start: number;
  /** Offset after its newline. */
  end: number;
  /** The line without its newline, as latin1 (one char per byte); '' for a too-long line. */
  text: string;
  tooLong: boolean;
}

export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Offset of the first byte not yet returned as part of a line. */
  private lineStart: number;
  private skipping = false;
  /** Bytes of the current incomplete line seen so far (held or skipped). */
  private lineLen = 0;

  constructor(
    start: number,
    private readonly maxLineBytes: number,
  ) {
    this.lineStart = start;
  }

  /** Offset where the next (incomplete) line starts: everything before it was returned. */
  get consumed(): number {
    return this.lineStart;
  }

  /** Bytes held for an incomplete last line (0 while skipping a too-long one). */
  get pendingBytes(): number {
    return this.partialBytes;
  }

  /** True while inside a too-long line, waiting for its newline. */
  get inLongLine(): boolean {
    return this.skipping;
  }

  /** Feeds the next bytes of the file (contiguous with the previous ones); returns the complete lines. */
  push(chunk: Buffer, out: Line[] = []): Line[] {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      if (nl === -1) {
        const rest = chunk.length - pos;
        this.lineLen += rest;
        if (!this.skipping) {
          if (this.lineLen > this.maxLineBytes) {
            this.partial = [];
            this.partialBytes = 0;
            this.skipping = true;
          } else {
            // Copy: the caller reuses its read buffer.
            this.partial.push(Buffer.from(chunk.subarray(pos)));
            this.partialBytes += rest;
          }
        }
        break;
      }
      const lineBytes = this.lineLen + (nl - pos);
      const end = this.lineStart + lineBytes + 1;
      if (this.skipping || lineBytes > this.maxLineBytes) {
        out.push({ start: this.lineStart, end, text: '', tooLong: true });
      } else if (this.partialBytes === 0) {
        out.push({ start: this.lineStart, end, text: chunk.toString('latin1', pos, nl), tooLong: false });
      } else {
        this.partial.push(chunk.subarray(pos, nl));
        out.push({ start: this.lineStart, end, text: Buffer.concat(this.partial).toString('latin1'), tooLong: false });
      }
      this.partial = [];
      this.partialBytes = 0;
      this.skipping = false;
      this.lineLen = 0;
      this.lineStart = end;
      pos = nl + 1;
    }
    return out;
  }

  /** Forgets an incomplete last line (the file was let go with it unfinished); returns where it started, or undefined. */
  abandonPartial(): { start: number; bytes: number } | undefined {
    if (this.lineLen === 0) return undefined;
    const r = { start: this.lineStart, bytes: this.lineLen };
    this.lineStart += this.lineLen;
    this.lineLen = 0;
    this.partial = [];
    this.partialBytes = 0;
    this.skipping = false;
    return r;
  }
}
