import type pg from 'pg';
import type { RecordedEvent } from '../core/events.js';
import { foldVersions, type FailureRow, type VersionPatch } from '../core/timeline.js';
import type { Pool } from './db.js';

/** A version that arrived at the destination for the first time in this batch (counted in the volumes). */
interface Arrival {
  site: string;
  sensor: string;
  size: number;
}

export interface BatchResult {
  /** Events written for the first time (the rest were redeliveries). */
  inserted: RecordedEvent[];
  duplicates: number;
  arrivals: Arrival[];
  /** Newest event time among the events written. */
  newest: Date | undefined;
}

const EVENT_COLUMNS = `event_id text, event_time timestamptz, type text, version integer, status text, site text, path text, upload_id text, task_id text, body jsonb, raw text`;

/**
 * Writes a batch in one transaction: the raw events (a redelivered id changes
 * nothing), then, for the events new to the log, the per-version timelines,
 * the give-ups and the daily volumes. Each statement takes the whole batch as
 * one JSON parameter (jsonb_to_recordset): one round trip per table whatever
 * the batch size, and every value a parameter.
 */
export async function writeBatch(pool: Pool, batch: readonly RecordedEvent[]): Promise<BatchResult> {
  const unique = dedupe(batch);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const newIds = await insertEvents(client, unique);
    const inserted = unique.filter((e) => newIds.has(e.eventId));
    const valid = inserted.flatMap((e) => (e.status === 'valid' && e.event ? [e.event] : []));
    const { versions, failures } = foldVersions(valid);
    await upsertVersions(client, versions);
    await insertFailures(client, failures);
    const arrivals = await countArrivals(client, versions.filter((v) => v.transferred_at !== null));
    await client.query('COMMIT');
    let newest: Date | undefined;
    for (const e of inserted) if (e.status === 'valid' && (!newest || e.time > newest)) newest = e.time;
    return { inserted, duplicates: batch.length - inserted.length, arrivals, newest };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Same id twice in one batch (a redelivery racing its original): the first stands. */
function dedupe(batch: readonly RecordedEvent[]): RecordedEvent[] {
  const seen = new Set<string>();
  return batch.filter((e) => (seen.has(e.eventId) ? false : (seen.add(e.eventId), true)));
}

async function insertEvents(client: pg.PoolClient, events: readonly RecordedEvent[]): Promise<Set<string>> {
  // The body goes in as the JSON text it already is (not parsed and written again).
  const rows = events.map((e) => {
    const head = JSON.stringify({
      event_id: e.eventId,
      event_time: e.time.toISOString(),
      type: e.type,
      version: e.version,
      status: e.status,
      site: e.site,
      path: e.path,
      upload_id: e.uploadId,
      task_id: e.taskId,
      raw: e.raw ? e.raw.toString('base64') : null,
    });
    return `${head.slice(0, -1)},"body":${e.json ?? 'null'}}`;
  });
  const res = await client.query<{ event_id: string }>(
    `INSERT INTO events (event_id, event_time, type, version, status, site, path, upload_id, task_id, body, raw)
     SELECT x.event_id, x.event_time, x.type, x.version, x.status, x.site, x.path, x.upload_id, x.task_id, x.body, decode(x.raw, 'base64')
       FROM jsonb_to_recordset($1::jsonb) AS x(${EVENT_COLUMNS})
     ON CONFLICT DO NOTHING
     RETURNING event_id`,
    [`[${rows.join(',')}]`],
  );
  return new Set(res.rows.map((r) => r.event_id));
}

const VERSION_COLUMNS: ReadonlyArray<[keyof VersionPatch, string]> = [
  ['site', 'text'], ['upload_id', 'text'], ['path', 'text'], ['sensor', 'text'], ['size', 'bigint'], ['mtime_ms', 'double precision'],
  ['ftp_time', 'timestamptz'], ['source', 'text'], ['attempts', 'integer'], ['first_seen', 'timestamptz'], ['uploaded_at', 'timestamptz'],
  ['batch_id', 'text'], ['task_id', 'text'], ['submitted_at', 'timestamptz'], ['checksum', 'text'], ['checksum_algorithm', 'text'],
  ['destination_path', 'text'], ['transferred_at', 'timestamptz'], ['deleted_at', 'timestamptz'], ['bytes_freed', 'bigint'],
  ['clowder_file_id', 'text'], ['clowder_dataset_id', 'text'], ['ingested_at', 'timestamptz'], ['failed_at', 'timestamptz'],
  ['failure_reason', 'text'], ['failures', 'integer'], ['state', 'text'], ['state_rank', 'smallint'], ['state_at', 'timestamptz'],
];
/** "When it first happened" columns keep the earliest value; the rest take the newer batch's value when it has one. */
const EARLIEST = new Set(['first_seen', 'uploaded_at', 'submitted_at', 'transferred_at', 'deleted_at', 'ingested_at']);

const UPSERT_VERSIONS = (() => {
  const names = VERSION_COLUMNS.map(([n]) => n);
  const merge = names
    .filter((n) => !['site', 'upload_id', 'failures', 'state', 'state_rank', 'state_at'].includes(n))
    .map((n) => (EARLIEST.has(n) ? `${n} = LEAST(v.${n}, EXCLUDED.${n})` : `${n} = COALESCE(EXCLUDED.${n}, v.${n})`));
  const forward = (n: string) => `${n} = CASE WHEN EXCLUDED.state_rank > v.state_rank THEN EXCLUDED.${n} ELSE v.${n} END`;
  return `INSERT INTO file_versions AS v (${names.join(', ')})
    SELECT ${names.map((n) => `x.${n}`).join(', ')}
      FROM jsonb_to_recordset($1::jsonb) AS x(${VERSION_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})
    ON CONFLICT (site, upload_id) DO UPDATE SET
      ${merge.join(',\n      ')},
      failures = v.failures + EXCLUDED.failures,
      ${forward('state')}, ${forward('state_at')}, ${forward('state_rank')}`;
})();

async function upsertVersions(client: pg.PoolClient, versions: readonly VersionPatch[]): Promise<void> {
  if (versions.length === 0) return;
  // Rows in a fixed order: two writers locking the same versions never deadlock.
  const sorted = [...versions].sort((a, b) => (a.site + a.upload_id < b.site + b.upload_id ? -1 : 1));
  await client.query(UPSERT_VERSIONS, [JSON.stringify(sorted)]);
}

async function insertFailures(client: pg.PoolClient, failures: readonly FailureRow[]): Promise<void> {
  if (failures.length === 0) return;
  await client.query(
    `INSERT INTO failures (event_id, site, upload_id, path, sensor, size, reason, detail, attempts, last_task_id, failed_at)
     SELECT x.event_id, x.site, x.upload_id, x.path, x.sensor, x.size, x.reason, x.detail, x.attempts, x.last_task_id, x.failed_at
       FROM jsonb_to_recordset($1::jsonb) AS x(event_id text, site text, upload_id text, path text, sensor text, size bigint, reason text, detail text, attempts integer, last_task_id text, failed_at timestamptz)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(failures)],
  );
}

/**
 * Marks the versions that now have an arrival and were not counted yet, and
 * adds them to the daily volumes (UTC day of the first arrival). The row lock
 * the UPDATE takes makes "not counted yet" true for exactly one writer, so a
 * version is counted once whatever the redeliveries or replicas.
 */
async function countArrivals(client: pg.PoolClient, transferred: readonly VersionPatch[]): Promise<Arrival[]> {
  if (transferred.length === 0) return [];
  const res = await client.query<{ site: string; sensor: string; size: string; day: string }>(
    `UPDATE file_versions v SET counted = true
       FROM jsonb_to_recordset($1::jsonb) AS x(site text, upload_id text)
      WHERE v.site = x.site AND v.upload_id = x.upload_id AND NOT v.counted AND v.transferred_at IS NOT NULL
      RETURNING v.site, COALESCE(v.sensor, 'unknown') AS sensor, COALESCE(v.size, 0) AS size, to_char(v.transferred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day`,
    [JSON.stringify(transferred.map((v) => ({ site: v.site, upload_id: v.upload_id })))],
  );
  if (res.rows.length === 0) return [];
  const daily = new Map<string, { site: string; sensor: string; day: string; files: number; bytes: number }>();
  for (const r of res.rows) {
    const key = `${r.site}\u0000${r.sensor}\u0000${r.day}`;
    const d = daily.get(key) ?? { site: r.site, sensor: r.sensor, day: r.day, files: 0, bytes: 0 };
    d.files += 1;
    d.bytes += Number(r.size);
    daily.set(key, d);
  }
  await client.query(
    `INSERT INTO volumes_daily AS d (site, sensor, day, files, bytes)
     SELECT x.site, x.sensor, x.day, x.files, x.bytes FROM jsonb_to_recordset($1::jsonb) AS x(site text, sensor text, day date, files bigint, bytes bigint)
      ORDER BY 1, 2, 3
     ON CONFLICT (site, sensor, day) DO UPDATE SET files = d.files + EXCLUDED.files, bytes = d.bytes + EXCLUDED.bytes`,
    [JSON.stringify([...daily.values()])],
  );
  return res.rows.map((r) => ({ site: r.site, sensor: r.sensor, size: Number(r.size) }));
}
