import { Watermark } from './watermark.js';

describe('Watermark', () => {
  it('moves only over a contiguous prefix of settled lines', () => {
    const w = new Watermark(100);
    const a = w.add(110);
    const b = w.add(120);
    const c = w.add(130);
    w.settle(c);
    expect(w.offset).toBe(100);
    w.settle(a);
    expect(w.offset).toBe(110);
    w.settle(b);
    expect(w.offset).toBe(130);
    expect(w.pending).toBe(0);
  });

  it('lets lines that need no publish settle at once, behind pending ones', () => {
    const w = new Watermark(0);
    w.add(10, true);
    expect(w.offset).toBe(10);
    const p = w.add(20);
    w.add(30, true);
    expect(w.offset).toBe(10);
    w.settle(p);
    expect(w.offset).toBe(30);
  });

  it('stays correct over many out-of-order settles (compaction keeps tickets valid)', () => {
    const w = new Watermark(0);
    const tickets: number[] = [];
    let end = 0;
    for (let i = 0; i < 20_000; i++) tickets.push(w.add((end += 7)));
    // Settle in a shuffled order within windows of 1000, checking the invariant as we go.
    const settled = new Set<number>();
    for (let base = 0; base < tickets.length; base += 1000) {
      const batch = tickets.slice(base, base + 1000).map((t, i) => [t, base + i] as const).sort(() => Math.random() - 0.5);
      for (const [t, i] of batch) {
        w.settle(t);
        settled.add(i);
        let k = 0;
        while (settled.has(k)) k++;
        if (Math.random() < 0.01) expect(w.offset).toBe(k * 7);
      }
    }
    expect(w.offset).toBe(20_000 * 7);
    expect(w.pending).toBe(0);
  });

  it('ignores a ticket settled twice', () => {
    const w = new Watermark(0);
    const a = w.add(5);
    const b = w.add(9);
    w.settle(a);
    w.settle(a);
    expect(w.offset).toBe(5);
    w.settle(b);
    expect(w.offset).toBe(9);
  });
});
