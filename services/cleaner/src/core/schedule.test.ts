import { nextSweepAt } from './schedule.js';

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

describe('nextSweepAt', () => {
  it('runs by interval from the last start, and at once when never run', () => {
    const s = { intervalMs: 24 * H, dailyAt: null };
    expect(nextSweepAt(null, at('2026-01-02T10:00:00Z'), s)).toBe(at('2026-01-02T10:00:00Z'));
    expect(nextSweepAt(at('2026-01-02T09:00:00Z'), at('2026-01-02T10:00:00Z'), s)).toBe(at('2026-01-03T09:00:00Z'));
    // Down for two days: due (in the past), so it runs now, once.
    expect(nextSweepAt(at('2025-12-30T09:00:00Z'), at('2026-01-02T10:00:00Z'), s)).toBe(at('2025-12-31T09:00:00Z'));
  });
  it('is off without an interval or a daily time', () => {
    expect(nextSweepAt(null, 0, { intervalMs: 0, dailyAt: null })).toBeNull();
  });
  it('runs daily at a UTC time, and catches up a slot missed while down', () => {
    const s = { intervalMs: 0, dailyAt: '02:30' };
    // Ran today at 02:30: next is tomorrow.
    expect(nextSweepAt(at('2026-01-02T02:30:05Z'), at('2026-01-02T10:00:00Z'), s)).toBe(at('2026-01-03T02:30:00Z'));
    // Last ran yesterday, today's slot passed while down: now.
    expect(nextSweepAt(at('2026-01-01T02:30:00Z'), at('2026-01-02T10:00:00Z'), s)).toBe(at('2026-01-02T10:00:00Z'));
    // Before today's slot, yesterday's done: today's slot.
    expect(nextSweepAt(at('2026-01-01T02:30:00Z'), at('2026-01-02T01:00:00Z'), s)).toBe(at('2026-01-02T02:30:00Z'));
    // Never ran: the next slot.
    expect(nextSweepAt(null, at('2026-01-02T10:00:00Z'), s)).toBe(at('2026-01-03T02:30:00Z'));
  });
});
