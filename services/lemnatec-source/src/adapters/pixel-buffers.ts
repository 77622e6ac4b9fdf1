/**
 * Pixel buffers used again from one image to the next. A VIS frame is 5 MB;
 * a fresh buffer per image costs the kernel a page fault and a zeroed page
 * per 4 KB, and V8 a garbage collection for the external memory, every
 * image (measured: docs/performance.md, Danforth). A buffer is taken for one
 * image's raw pixels and given back once the encoder has finished with it;
 * at most `keep` idle buffers are held.
 */
export class PixelBuffers {
  private readonly idle: Buffer[] = [];

  constructor(private readonly keep: number) {}

  /** `bytes` bytes (contents undefined), from the smallest idle buffer that holds them, else newly allocated. */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) if (this.idle[i]!.byteLength >= bytes && (best < 0 || this.idle[i]!.byteLength < this.idle[best]!.byteLength)) best = i;
    const whole = best >= 0 ? this.idle.splice(best, 1)[0]! : Buffer.allocUnsafeSlow(bytes);
    return whole.subarray(0, bytes);
  }

  /** Gives back a buffer `take` returned; nothing may use it afterwards. */
  give(b: Buffer): void {
    if (this.idle.length >= this.keep) return;
    this.idle.push(Buffer.from(b.buffer, 0, b.buffer.byteLength));
  }

  /** Idle buffers held now. */
  get held(): number {
    return this.idle.length;
  }
}
