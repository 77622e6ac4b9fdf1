import { encodeCursor, likePrefix } from '../core/report.js';
import { TRANSFERRED_RANK } from '../core/timeline.js';
import type { Pool } from './db.js';

/** The read side of the log. Every value is a parameter; nothing from a request is ever spliced into SQL. */

const VERSION_SELECT = `site, upload_id AS "uploadId", path, sensor, size::float8 AS size, mtime_ms AS "mtimeMs", ftp_time AS "ftpTime", source, attempts,
  first_seen AS "firstSeen", uploaded_at AS "uploadedAt", batch_id AS "batchId", task_id AS "taskId", submitted_at AS "submittedAt",
  checksum, checksum_algorithm AS "checksumAlgorithm", destination_path AS "destinationPath", transferred_at AS "transferredAt",
  deleted_at AS "deletedAt", bytes_freed::float8 AS "bytesFreed", clowder_file_id AS "clowderFileId", clowder_dataset_id AS "clowderDatasetId",
  ingested_at AS "ingestedAt", failed_at AS "failedAt", failure_reason AS "failureReason", failures, state, state_at AS "stateAt"`;

export type VersionRow = Record<string, unknown> & { site: string; uploadId: string; taskId: string | null };

export interface EventRow {
  id: string;
  /** ISO 8601 in UTC with milliseconds, as Date.toISOString writes it (event times are whole milliseconds). */
  time: string;
  type: string;
  version: number | null;
  status: string;
  uploadId: string | null;
  taskId: string | null;
  /** The event's data (null for task.submitted, which lists a whole task: see the version's batch and task). */
  data: unknown;
}

/** Most versions one path lookup returns (a file rewritten more often is listed newest first up to this). */
const MAX_VERSIONS = 200;

/**
 * The path lookup in one statement (one round trip, one snapshot): the newest MAX_VERSIONS versions of the
 * path, each with its events in time order: those of its upload (of its site, or of none) and its task's
 * events that name no upload (task.submitted, and the chunked file.transferred / file.deleted / file.ingested
 * of contract version 2, found by task through the events_task index). Named (prepared once per connection) and meant for the lineage pool, whose sessions keep
 * generic plans: the plan does not depend on the values, and planning it over every day partition costs
 * more than running it. Two statements in turn cost a second round trip to PostgreSQL, and on a busy
 * machine a second wait for its backend and for this thread (docs/performance.md).
 */
const LINEAGE_SQL = `WITH v AS MATERIALIZED (
    SELECT ${VERSION_SELECT} FROM file_versions WHERE path = $1 AND ($2::text IS NULL OR site = $2) ORDER BY first_seen DESC, upload_id LIMIT ${MAX_VERSIONS}
  ), e AS MATERIALIZED (
    SELECT event_id AS id, event_time AS time, type, version, status, upload_id AS "uploadId", task_id AS "taskId", site, body->'data' AS data
      FROM events WHERE upload_id = ANY(ARRAY(SELECT "uploadId" FROM v))
    UNION ALL
    SELECT event_id, event_time, type, version, status, NULL, task_id, site, NULL
      FROM events WHERE upload_id IS NULL AND task_id = ANY(ARRAY(SELECT DISTINCT "taskId" FROM v WHERE "taskId" IS NOT NULL))
  )
  SELECT v.*, COALESCE((
      SELECT json_agg(json_build_object(
          'id', e.id, 'time', to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'type', e.type, 'version', e.version,
          'status', e.status, 'uploadId', e."uploadId", 'taskId', e."taskId", 'data', e.data) ORDER BY e.time, e.id)
        FROM e
       WHERE CASE WHEN e."uploadId" IS NOT NULL THEN e."uploadId" = v."uploadId" AND (e.site IS NULL OR e.site = v.site) ELSE e."taskId" = v."taskId" END
    ), '[]'::json) AS events
    FROM v ORDER BY v."firstSeen", v."uploadId" DESC`;

/** A file's versions and every event of each, newest version last. */
export async function lineageByPath(pool: Pool, path: string, site?: string): Promise<{ versions: Array<VersionRow & { events: EventRow[] }> }> {
  const res = await pool.query<VersionRow & { events: EventRow[] }>({ name: 'lineage', text: LINEAGE_SQL, values: [path, site ?? null] });
  return { versions: res.rows };
}

export async function listByPrefix(pool: Pool, prefix: string, limit: number, after?: { path: string; uploadId: string }) {
  const res = await pool.query<VersionRow & { path: string }>(
    `SELECT ${VERSION_SELECT} FROM file_versions
      WHERE path LIKE $1 ESCAPE '\\' AND ($2::text IS NULL OR (path, upload_id) > ($2, $3::text))
      ORDER BY path, upload_id LIMIT $4`,
    [likePrefix(prefix), after?.path ?? null, after?.uploadId ?? null, limit + 1],
  );
  const more = res.rows.length > limit;
  const items = more ? res.rows.slice(0, limit) : res.rows;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.path, last.uploadId) : null };
}

export interface VolumeQuery {
  site?: string | undefined;
  sensor?: string | undefined;
  by: 'day' | 'week';
  from: string;
  to: string;
}

/** Files and bytes that arrived, per site and sensor and per UTC day or ISO week (Monday to Sunday), from the daily rollup. */
export async function volumes(pool: Pool, q: VolumeQuery) {
  const period = q.by === 'day' ? `to_char(day, 'YYYY-MM-DD')` : `to_char(day, 'IYYY-"W"IW')`;
  const start = q.by === 'day' ? 'day' : `date_trunc('week', day)::date`;
  const res = await pool.query<{ site: string; sensor: string; period: string; start: string; files: string; bytes: string }>(
    `SELECT site, sensor, ${period} AS period, to_char(${start}, 'YYYY-MM-DD') AS start, sum(files)::text AS files, sum(bytes)::text AS bytes
       FROM volumes_daily
      WHERE day >= $1::date AND day <= $2::date AND ($3::text IS NULL OR site = $3) AND ($4::text IS NULL OR sensor = $4)
      GROUP BY site, sensor, 3, 4 ORDER BY 4, site, sensor`,
    [q.from, q.to, q.site ?? null, q.sensor ?? null],
  );
  return res.rows.map((r) => ({ site: r.site, sensor: r.sensor, period: r.period, start: r.start, files: Number(r.files), bytes: Number(r.bytes) }));
}

export async function failures(pool: Pool, q: { site?: string | undefined; since?: string | undefined; limit: number }) {
  const res = await pool.query(
    `SELECT event_id AS "eventId", site, upload_id AS "uploadId", path, sensor, size::float8 AS size, reason, detail, attempts, last_task_id AS "lastTaskId", failed_at AS "failedAt"
       FROM failures WHERE ($1::text IS NULL OR site = $1) AND ($2::timestamptz IS NULL OR failed_at >= $2)
      ORDER BY failed_at DESC, event_id LIMIT $3`,
    [q.site ?? null, q.since ?? null, q.limit],
  );
  return res.rows;
}

export async function stuck(pool: Pool, q: { state: string; olderThanSeconds: number; site?: string | undefined; limit: number }) {
  const res = await pool.query<VersionRow>(
    `SELECT ${VERSION_SELECT} FROM file_versions
      WHERE state = $1 AND state_at < now() - make_interval(secs => $2) AND ($3::text IS NULL OR site = $3)
      ORDER BY state_at, upload_id LIMIT $4`,
    [q.state, q.olderThanSeconds, q.site ?? null, q.limit],
  );
  return res.rows;
}

/** The daily mail: per site and sensor, what arrived that UTC day, and that day's give-ups. */
export async function dailyReport(pool: Pool, day: string) {
  const [vol, fails] = await Promise.all([
    pool.query<{ site: string; sensor: string; files: string; bytes: string }>(
      `SELECT site, sensor, files::text, bytes::text FROM volumes_daily WHERE day = $1::date ORDER BY site, sensor`,
      [day],
    ),
    pool.query<{ site: string; sensor: string; failures: string }>(
      `SELECT site, sensor, count(*)::text AS failures FROM failures WHERE failed_at >= $1::date AND failed_at < $1::date + 1 GROUP BY site, sensor`,
      [day],
    ),
  ]);
  const rows = new Map<string, { site: string; sensor: string; files: number; bytes: number; failures: number }>();
  for (const r of vol.rows) rows.set(`${r.site}\u0000${r.sensor}`, { site: r.site, sensor: r.sensor, files: Number(r.files), bytes: Number(r.bytes), failures: 0 });
  for (const r of fails.rows) {
    const k = `${r.site}\u0000${r.sensor}`;
    const row = rows.get(k) ?? { site: r.site, sensor: r.sensor, files: 0, bytes: 0, failures: 0 };
    row.failures = Number(r.failures);
    rows.set(k, row);
  }
  const list = [...rows.values()].sort((a, b) => (a.site === b.site ? (a.sensor < b.sensor ? -1 : 1) : a.site < b.site ? -1 : 1));
  const totals = list.reduce((t, r) => ({ files: t.files + r.files, bytes: t.bytes + r.bytes, failures: t.failures + r.failures }), { files: 0, bytes: 0, failures: 0 });
  return { date: day, rows: list, totals };
}

/** Per site: today's and this ISO week's arrivals, the backlog (versions not yet arrived) and its oldest, give-ups in the last 24 h. */
export async function siteStatus(pool: Pool) {
  const res = await pool.query<{ site: string; today_files: string; today_bytes: string; week_files: string; week_bytes: string; backlog: string; oldest: Date | null; failures: string; states: Record<string, string | number> | null }>(
    `WITH sites AS (SELECT DISTINCT site FROM volumes_daily UNION SELECT DISTINCT site FROM file_versions WHERE state_rank < ${TRANSFERRED_RANK}),
     vol AS (SELECT site,
                    sum(files) FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date) AS today_files,
                    sum(bytes) FILTER (WHERE day = (now() AT TIME ZONE 'UTC')::date) AS today_bytes,
                    sum(files) AS week_files, sum(bytes) AS week_bytes
               FROM volumes_daily WHERE day >= date_trunc('week', now() AT TIME ZONE 'UTC')::date GROUP BY site),
     back_states AS (SELECT site, state, count(*) AS n, min(state_at) AS oldest FROM file_versions WHERE state_rank < ${TRANSFERRED_RANK} GROUP BY site, state),
     back AS (SELECT site, sum(n) AS backlog, min(oldest) AS oldest, jsonb_object_agg(state, n) AS states FROM back_states GROUP BY site),
     fail AS (SELECT site, count(*) AS failures FROM failures WHERE failed_at >= now() - interval '24 hours' GROUP BY site)
     SELECT s.site, COALESCE(v.today_files, 0)::text AS today_files, COALESCE(v.today_bytes, 0)::text AS today_bytes,
            COALESCE(v.week_files, 0)::text AS week_files, COALESCE(v.week_bytes, 0)::text AS week_bytes,
            COALESCE(b.backlog, 0)::text AS backlog, b.oldest, COALESCE(f.failures, 0)::text AS failures, b.states
       FROM sites s LEFT JOIN vol v USING (site) LEFT JOIN back b USING (site) LEFT JOIN fail f USING (site) ORDER BY s.site`,
  );
  return res.rows.map((r) => ({
    site: r.site,
    today: { files: Number(r.today_files), bytes: Number(r.today_bytes) },
    week: { files: Number(r.week_files), bytes: Number(r.week_bytes) },
    backlog: Number(r.backlog),
    backlogByState: Object.fromEntries(Object.entries(r.states ?? {}).map(([k, n]) => [k, Number(n)])),
    oldestUntransferredSince: r.oldest ? r.oldest.toISOString() : null,
    failures24h: Number(r.failures),
  }));
}

/** Most Globus tasks in flight the status lists (oldest first); the per-site counts cover them all. */
const MAX_TASKS_LISTED = 50;

/**
 * Globus tasks in flight, from the log's own data: versions submitted (state
 * `submitted`) and not yet transferred or given up, grouped by their newest task.
 * The watcher's Redis knows more (Globus' own status), but the log reads only
 * PostgreSQL, so this is "submitted, no outcome logged yet".
 */
export async function tasksInFlight(pool: Pool) {
  const res = await pool.query<{ site: string; task_id: string; files: string; bytes: string; submitted_at: Date | null; sites_tasks: string }>(
    `WITH t AS (SELECT site, task_id, count(*) AS files, COALESCE(sum(size), 0) AS bytes, min(submitted_at) AS submitted_at
                  FROM file_versions WHERE state = 'submitted' AND task_id IS NOT NULL GROUP BY site, task_id)
     SELECT site, task_id, files::text, bytes::text, submitted_at, (count(*) OVER (PARTITION BY site))::text AS sites_tasks
       FROM t ORDER BY submitted_at NULLS LAST, task_id`,
  );
  const perSite = new Map<string, number>();
  for (const r of res.rows) perSite.set(r.site, Number(r.sites_tasks));
  return {
    perSite,
    tasks: res.rows.slice(0, MAX_TASKS_LISTED).map((r) => ({
      taskId: r.task_id, site: r.site, files: Number(r.files), bytes: Number(r.bytes), submittedAt: r.submitted_at ? r.submitted_at.toISOString() : null,
    })),
  };
}
