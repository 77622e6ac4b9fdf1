import { startHarness } from './harness.js';

describe('cleaner: the sweep schedule across restarts', () => {
  it('does not sweep again at start when the last scheduled sweep (in Redis) is recent, and catches up when it is overdue', async () => {
    const recent = await startHarness({ SWEEP_INTERVAL_MINUTES: '1440' }, { start: false });
    try {
      await recent.redis.set(`${recent.prefix}:cleaner:ua-mac:sweep:last-scheduled-start`, String(Date.now() - 3600_000));
      await recent.cleaner.start();
      await new Promise((r) => setTimeout(r, 700));
      expect(await recent.cleaner.sweeper.latest()).toBeNull();
    } finally {
      await recent.close();
    }

    const overdue = await startHarness({ SWEEP_INTERVAL_MINUTES: '1440' }, { start: false });
    try {
      const before = Date.now() - 25 * 3600_000;
      await overdue.redis.set(`${overdue.prefix}:cleaner:ua-mac:sweep:last-scheduled-start`, String(before));
      await overdue.cleaner.start();
      let latest = null;
      for (let i = 0; i < 100 && latest?.state !== 'succeeded'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        latest = await overdue.cleaner.sweeper.latest();
      }
      expect(latest).toMatchObject({ trigger: 'schedule', state: 'succeeded' });
      expect(Number(await overdue.redis.get(`${overdue.prefix}:cleaner:ua-mac:sweep:last-scheduled-start`))).toBeGreaterThan(before);
      // The gauge the TerraSweepNotRunning alert reads.
      expect(await overdue.metric('terra_transfer_sweep_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    } finally {
      await overdue.close();
    }
  });
});
