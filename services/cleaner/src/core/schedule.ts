/** When scheduled sweeps run: every `intervalMs` after the last start, or daily at a UTC time. */
export interface Schedule {
  /** 0 = no interval schedule. */
  intervalMs: number;
  /** "HH:MM" UTC, or null. Takes precedence over the interval. */
  dailyAt: string | null;
}

/**
 * The next time a scheduled sweep is due, given when the last one started
 * (remembered in Redis, so a restart neither skips a day nor sweeps again at
 * once). Null when no schedule is configured. A time in the past means "now".
 */
export function nextSweepAt(lastStartedAt: number | null, now: number, s: Schedule): number | null {
  if (s.dailyAt) {
    const [h, m] = s.dailyAt.split(':').map(Number) as [number, number];
    const today = new Date(now);
    today.setUTCHours(h, m, 0, 0);
    const todayAt = today.getTime();
    const prevSlot = todayAt <= now ? todayAt : todayAt - 86_400_000;
    // The slot that passed most recently was missed (service down): run it now.
    if (lastStartedAt === null || lastStartedAt < prevSlot) return lastStartedAt === null ? prevSlot + 86_400_000 : now;
    return prevSlot + 86_400_000;
  }
  if (s.intervalMs <= 0) return null;
  if (lastStartedAt === null) return now;
  return lastStartedAt + s.intervalMs;
}
