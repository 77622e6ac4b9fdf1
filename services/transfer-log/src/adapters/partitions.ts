import { partitionName, utcDay } from '../core/report.js';
import type { Pool } from './db.js';

const DAY_MS = 86_400_000;
/** One maintainer at a time across replicas (creating and dropping partitions). */
const LOCK_KEY = 'terra-transfer-log:partitions';

/**
 * The raw log's day partitions. A day gets its partition before events of
 * that day are written (ahead of time by maintenance, on demand for a batch),
 * so the default partition stays small; retention drops whole partitions, so
 * deleting old events costs the same however big the log is.
 */
export class Partitions {
  private readonly known = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly retentionDays: number,
    private readonly aheadDays: number,
  ) {}

  /** Days (YYYY-MM-DD) that have a partition, read from the catalogue. */
  async load(): Promise<string[]> {
    const res = await this.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'events' AND c.relname ~ '^events_p[0-9]{8}$'`,
    );
    this.known.clear();
    for (const r of res.rows) this.known.add(`${r.name.slice(8, 12)}-${r.name.slice(12, 14)}-${r.name.slice(14, 16)}`);
    return [...this.known].sort();
  }

  /** Creates the partitions of these event times' days that are inside the kept window and missing. */
  async ensureFor(times: Iterable<Date>, now = new Date()): Promise<void> {
    const oldest = utcDay(new Date(now.getTime() - this.retentionDays * DAY_MS));
    const newest = utcDay(new Date(now.getTime() + this.aheadDays * DAY_MS));
    const days = new Set<string>();
    for (const t of times) {
      const d = utcDay(t);
      if (d >= oldest && d <= newest && !this.known.has(d)) days.add(d);
    }
    for (const d of [...days].sort()) await this.create(d);
  }

  /** Maintenance: today's partition, the days ahead, and the drop of partitions past the retention. */
  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[]; defaultRowsDeleted: number }> {
    const created: string[] = [];
    for (let i = -1; i <= this.aheadDays; i++) {
      const d = utcDay(new Date(now.getTime() + i * DAY_MS));
      if (!this.known.has(d) && (await this.create(d))) created.push(d);
    }
    const { dropped, defaultRowsDeleted } = await this.dropExpired(now);
    return { created, dropped, defaultRowsDeleted };
  }

  /**
   * Creates one day's partition: a plain table filled with that day's rows from
   * the default partition, then attached (attaching checks the default holds
   * none of the day's rows any more). Returns false when it already existed.
   */
  private async create(day: string): Promise<boolean> {
    const name = partitionName(day);
    const from = `${day}T00:00:00Z`;
    const to = new Date(Date.parse(from) + DAY_MS).toISOString();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
      const exists = await client.query('SELECT to_regclass($1) AS t', [name]);
      if (exists.rows[0]?.t) {
        await client.query('COMMIT');
        this.known.add(day);
        return false;
      }
      // `name` is built from a checked YYYY-MM-DD only (partitionName); the bounds are literals of the same.
      await client.query(`CREATE TABLE ${name} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await client.query(`WITH moved AS (DELETE FROM events_default WHERE event_time >= $1 AND event_time < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [from, to]);
      await client.query(`ALTER TABLE events ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
      await client.query('COMMIT');
      this.known.add(day);
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Drops day partitions older than the retention, and trims the default partition by the same bound. */
  private async dropExpired(now: Date): Promise<{ dropped: string[]; defaultRowsDeleted: number }> {
    const cutoff = utcDay(new Date(now.getTime() - this.retentionDays * DAY_MS));
    await this.load();
    const dropped: string[] = [];
    for (const day of [...this.known].sort()) {
      if (day >= cutoff) break;
      const name = partitionName(day);
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
        await client.query(`DROP TABLE IF EXISTS ${name}`);
        await client.query('COMMIT');
        this.known.delete(day);
        dropped.push(day);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
    // Events with no day partition (older than the retention when they came, or with no usable time): by when they came.
    const res = await this.pool.query(`DELETE FROM events_default WHERE received_at < $1`, [`${cutoff}T00:00:00Z`]);
    return { dropped, defaultRowsDeleted: res.rowCount ?? 0 };
  }
}
