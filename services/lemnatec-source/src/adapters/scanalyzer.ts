import pg from 'pg';
import type { SeenRow } from '../core/cursor.js';
import type { SnapshotRow, TileRow } from '../core/metadata.js';

/** The columns the source reads, by table, under their reference names (the site file's `columns` maps a release's own names). */
const NEEDED_COLUMNS = {
  snapshot: ['id', 'id_tag', 'car_tag', 'measurement_label', 'time_stamp', 'weight_before', 'weight_after', 'water_amount', 'completed', 'creator', 'comment'],
  tiled_image: ['id', 'snapshot_id', 'camera_label'],
  tile: ['id', 'tiled_image_id', 'raw_image_oid', 'dataformat', 'width', 'height', 'frame', 'rotate_flip_type'],
} as const;
type Table = keyof typeof NEEDED_COLUMNS;

/** A database lacks columns the source reads: named, with the mapping that would fix it. Not retried. */
export class SchemaMismatchError extends Error {
  readonly code = 'SCHEMA_MISMATCH';
  constructor(readonly database: string, readonly missing: readonly string[]) {
    super(`database ${database} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (LemnaTec releases name some differently: map them in the site file's source.columns, e.g. {"snapshot.water_amount": water_amount_g})`);
    this.name = 'SchemaMismatchError';
  }
}

const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/**
 * Read-only access to a Scanalyzer's databases: every session is opened with
 * `default_transaction_read_only = on`, so no statement of this process can
 * write to the instrument's database. One small pool per experiment database.
 */
export class Scanalyzer {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly fileTable = new Map<string, boolean>();

  constructor(
    /** URL of the system database (LTSystem); experiment databases are on the same server. */
    private readonly systemUrl: string,
    private readonly columns: Readonly<Record<string, string>>,
    private readonly opts: { poolSize: number; statementTimeoutMs: number; connectTimeoutMs: number },
  ) {}

  private col(table: Table, name: string): string {
    return q(this.columns[`${table}.${name}`] ?? name);
  }

  private pool(database: string | null): pg.Pool {
    const key = database ?? '';
    let p = this.pools.get(key);
    if (!p) {
      const u = new URL(this.systemUrl);
      if (database !== null) u.pathname = `/${encodeURIComponent(database)}`;
      p = new pg.Pool({
        connectionString: u.toString(),
        max: this.opts.poolSize,
        connectionTimeoutMillis: this.opts.connectTimeoutMs,
        statement_timeout: this.opts.statementTimeoutMs,
        options: '-c default_transaction_read_only=on',
        application_name: 'terra-lemnatec-source',
      });
      // An idle client's error (the server went away) is reported at the next query.
      p.on('error', () => undefined);
      this.pools.set(key, p);
    }
    return p;
  }

  /** The experiment databases: those listed, or every database of LTSystem.ltdbs not removed. */
  async databases(listed: readonly string[] | undefined): Promise<string[]> {
    if (listed && listed.length > 0) return [...listed];
    const r = await this.pool(null).query<{ name: string }>('SELECT name FROM ltdbs WHERE removed IS NOT TRUE ORDER BY id');
    return r.rows.map((x) => x.name);
  }

  /** Throws SchemaMismatchError naming every needed column the database lacks. */
  async checkSchema(database: string): Promise<void> {
    const r = await this.pool(database).query<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1)",
      [Object.keys(NEEDED_COLUMNS)],
    );
    const have = new Set(r.rows.map((x) => `${x.table_name}.${x.column_name}`));
    const missing: string[] = [];
    for (const [table, cols] of Object.entries(NEEDED_COLUMNS)) {
      for (const c of cols) {
        const mapped = this.columns[`${table}.${c}`] ?? c;
        if (!have.has(`${table}.${mapped}`)) missing.push(mapped === c ? `${table}.${c}` : `${table}.${mapped} (mapped from ${table}.${c})`);
      }
    }
    if (missing.length > 0) throw new SchemaMismatchError(database, missing);
    const ft = await this.pool(database).query<{ t: string | null }>("SELECT to_regclass('image_file_table')::text AS t");
    this.fileTable.set(database, ft.rows[0]?.t != null);
  }

  private seen(rows: Array<{ id: string; ts: Date; completed: boolean | null }>): SeenRow[] {
    return rows.map((r) => ({ id: Number(r.id), timeMs: r.ts.getTime(), completed: r.completed === true }));
  }

  private get seenList(): string {
    return `${this.col('snapshot', 'id')} AS id, ${this.col('snapshot', 'time_stamp')} AS ts, ${this.col('snapshot', 'completed')} AS completed`;
  }

  /** Rows with an id above the mark, in id order. */
  async newRows(database: string, afterId: number, limit: number): Promise<SeenRow[]> {
    const r = await this.pool(database).query(`SELECT ${this.seenList} FROM snapshot WHERE ${this.col('snapshot', 'id')} > $1 ORDER BY 1 LIMIT $2`, [afterId, limit]);
    return this.seen(r.rows);
  }

  /** Completed rows at or below the id mark inside the overlap window (late commits). */
  async overlapRows(database: string, maxId: number, sinceMs: number): Promise<SeenRow[]> {
    const r = await this.pool(database).query(
      `SELECT ${this.seenList} FROM snapshot WHERE ${this.col('snapshot', 'id')} <= $1 AND ${this.col('snapshot', 'time_stamp')} >= $2 AND ${this.col('snapshot', 'completed')} ORDER BY 1`,
      [maxId, new Date(sinceMs)],
    );
    return this.seen(r.rows);
  }

  async rowsById(database: string, ids: readonly number[]): Promise<SeenRow[]> {
    if (ids.length === 0) return [];
    const r = await this.pool(database).query(`SELECT ${this.seenList} FROM snapshot WHERE ${this.col('snapshot', 'id')} = ANY($1::bigint[]) ORDER BY 1`, [ids]);
    return this.seen(r.rows);
  }

  async snapshot(database: string, id: number): Promise<SnapshotRow | null> {
    const c = (n: string) => `${this.col('snapshot', n)} AS ${n}`;
    const r = await this.pool(database).query(
      `SELECT ${NEEDED_COLUMNS.snapshot.map(c).join(', ')} FROM snapshot WHERE ${this.col('snapshot', 'id')} = $1`,
      [id],
    );
    const x = r.rows[0] as Record<string, unknown> | undefined;
    if (!x) return null;
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
    return {
      id: Number(x['id']), idTag: str(x['id_tag']), carTag: str(x['car_tag']), measurementLabel: str(x['measurement_label']),
      timeStamp: x['time_stamp'] as Date, weightBefore: num(x['weight_before']), weightAfter: num(x['weight_after']),
      waterAmount: num(x['water_amount']), completed: x['completed'] === true, creator: str(x['creator']), comment: str(x['comment']),
    };
  }

  /** The snapshot's tiles (one per image frame), with image_file_table's path when the database has that table. */
  async tiles(database: string, snapshotId: number): Promise<TileRow[]> {
    const ti = (n: string) => `ti.${this.col('tiled_image', n)}`;
    const t = (n: string) => `t.${this.col('tile', n)}`;
    const withPath = this.fileTable.get(database) === true;
    const r = await this.pool(database).query(
      `SELECT ${t('id')} AS tile_id, ${ti('id')} AS tiled_image_id, ${ti('camera_label')} AS camera_label, ${t('raw_image_oid')} AS oid,
              ${t('dataformat')} AS dataformat, ${t('width')} AS width, ${t('height')} AS height, ${t('frame')} AS frame, ${t('rotate_flip_type')} AS rft
              ${withPath ? ', f.path AS blob_path' : ''}
         FROM tiled_image ti JOIN tile t ON ${t('tiled_image_id')} = ${ti('id')}
         ${withPath ? `LEFT JOIN image_file_table f ON f.id = ${t('raw_image_oid')}` : ''}
        WHERE ${ti('snapshot_id')} = $1 ORDER BY ${ti('id')}, ${t('frame')}, ${t('id')}`,
      [snapshotId],
    );
    return r.rows.map((x: Record<string, unknown>) => ({
      tileId: Number(x['tile_id']), tiledImageId: Number(x['tiled_image_id']), cameraLabel: String(x['camera_label'] ?? ''),
      rawImageOid: Number(x['oid']), dataformat: x['dataformat'] === null ? null : Number(x['dataformat']),
      width: Number(x['width'] ?? 0), height: Number(x['height'] ?? 0), frame: Number(x['frame'] ?? 0), rotateFlipType: Number(x['rft'] ?? 0),
      blobPath: typeof x['blob_path'] === 'string' ? x['blob_path'] : null,
    }));
  }

  /** True when the system database answers (readiness). */
  async ping(): Promise<boolean> {
    try {
      await this.pool(null).query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
