import { Counter, counter, createRegistry, tally } from './metrics.js';

describe('tally', () => {
  it('folds its increments into the counter whenever the counter is read', async () => {
    const registry = createRegistry();
    const c = counter(registry, 'terra_transfer_test_lines_total', 'lines', ['outcome']);
    const ok = tally(c, { outcome: 'ok' });
    const bad = tally(c, { outcome: 'bad' });
    ok.inc();
    ok.inc(4);
    bad.inc();
    c.inc({ outcome: 'ok' }, 10); // direct increments still add up with the tally's
    const values = async () => Object.fromEntries((await c.get()).values.map((v) => [v.labels['outcome'], v.value]));
    expect(await values()).toEqual({ ok: 15, bad: 1 });
    // Read twice without new increments: nothing is counted again.
    expect(await values()).toEqual({ ok: 15, bad: 1 });
    ok.inc(2);
    expect(await registry.metrics()).toContain('terra_transfer_test_lines_total{outcome="ok"} 17');
  });

  it('works on an unlabelled counter and on one asked for twice', async () => {
    const registry = createRegistry();
    const a = counter(registry, 'terra_transfer_test_events_total', 'events');
    const b = counter(registry, 'terra_transfer_test_events_total', 'events');
    expect(b).toBe(a);
    tally(a).inc(3);
    tally(b).inc(2);
    expect((await a.get()).values[0]!.value).toBe(5);
  });
});

it('refuses a counter that counter() did not make (nothing would fold the tally in)', () => {
  const registry = createRegistry();
  const foreign = new Counter({ name: 'terra_transfer_test_foreign_total', help: 'x', registers: [registry] });
  expect(() => tally(foreign)).toThrow(/not made by counter\(\)/);
});
