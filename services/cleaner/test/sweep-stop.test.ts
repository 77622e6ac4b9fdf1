import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { SweepStore } from '../src/adapters/sweep-store.js';
import { startHarness } from './harness.js';

it('a shutdown stops a running sweep between chunks, records it as failed and releases the lock', async () => {
  const h = await startHarness({ SWEEP_CHUNK: '10' });
  try {
    const old = (Date.now() - 3 * 86_400_000) / 1000;
    const paths: string[] = [];
    for (let d = 0; d < 30; d++) {
      const dir = `${h.root}/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-${String(d).padStart(2, '0')}-000`;
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 100; i++) {
        writeFileSync(`${dir}/${i}.bin`, '');
        utimesSync(`${dir}/${i}.bin`, old, old);
        paths.push(`${dir}/${i}.bin`);
      }
    }
    const started = await h.cleaner.sweeper.start('api');
    await h.cleaner.sweeper.close();
    const result = await started!.done;
    expect(result.state).toBe('failed');
    expect(result.error).toMatch(/shutting down/);
    expect(result.counts.sent).toBeLessThan(3000);
    // Every send that was confirmed before the stop is recorded (the last partial batch of ledger notes included).
    const records = await h.ledger.getVersions(paths);
    expect(records.filter((r) => r !== null)).toHaveLength(result.counts.sent);
    expect(await h.cleaner.sweeper.latest()).toMatchObject({ id: result.id, state: 'failed' });
    const other = new SweepStore(h.redis, h.prefix, 'ua-mac');
    const token = await other.acquire(5000);
    expect(token).not.toBeNull();
    await token!.release();
    // Closed: no new sweep starts.
    expect(await h.cleaner.sweeper.start('api')).toBeNull();
  } finally {
    await h.close();
  }
});
