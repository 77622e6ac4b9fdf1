import { PermanentError, TransientError, UpstreamUnavailableError } from './errors.js';
import { mapSettled, settleChunk } from './chunk.js';

const ok = <R>(value: R) => ({ ok: true as const, value });
const fail = (error: unknown) => ({ ok: false as const, error });

describe('settleChunk', () => {
  const items = ['a', 'b', 'c'];

  it('dead-letters a permanent failure alone; its chunk-mates are done', () => {
    const s = settleChunk(items, [ok(1), fail(new PermanentError('UNSAFE_PATH', 'leaves the root')), ok(3)], false);
    expect(s.done.map((d) => d.item)).toEqual(['a', 'c']);
    expect(s.deadLetter).toEqual([{ item: 'b', code: 'UNSAFE_PATH', detail: expect.stringContaining('leaves the root'), error: expect.any(PermanentError) }]);
    expect(s.rethrow).toBeUndefined();
  });

  it('retries the chunk for a transient failure, and dead-letters the item alone on the last delivery', () => {
    const err = new TransientError('GLOBUS_5XX', 'down');
    const first = settleChunk(items, [ok(1), fail(err), ok(3)], false);
    expect(first).toMatchObject({ deadLetter: [], rethrow: err });
    expect(first.done).toHaveLength(2);
    const last = settleChunk(items, [ok(1), fail(err), ok(3)], true);
    expect(last.deadLetter.map((d) => [d.item, d.code])).toEqual([['b', 'GLOBUS_5XX']]);
    expect(last.rethrow).toBeUndefined();
  });

  it('holds the chunk for an unavailable upstream whatever the count, and never dead-letters for it', () => {
    const down = new UpstreamUnavailableError('clowder', 'CLOWDER_5XX', 'down');
    const s = settleChunk(items, [fail(new TransientError('GLOBUS_5XX', 'x')), fail(down), ok(3)], true);
    expect(s.rethrow).toBe(down);
    expect(s.deadLetter.map((d) => d.item)).toEqual(['a']);
  });
});

describe('mapSettled', () => {
  it('runs every item, at most n at once, keeping each outcome in order', async () => {
    let running = 0;
    let most = 0;
    const r = await mapSettled([1, 2, 3, 4, 5], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((res) => setTimeout(res, 5));
      running--;
      if (n === 2) throw new Error('two');
      return n * 10;
    });
    expect(most).toBe(2);
    expect(r.map((x) => (x.ok ? x.value : 'err'))).toEqual([10, 'err', 30, 40, 50]);
    expect(await mapSettled([], 4, async () => 1)).toEqual([]);
  });
});
