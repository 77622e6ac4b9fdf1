/**
 * A test LemnaTec Scanalyzer on the machine's PostgreSQL: a system database
 * (LTSystem's `ltdbs`) and experiment databases with the reference schema
 * (docs: /work/shared/reference/lemnatec-scanalyzer-db.md §8), and a
 * generator that "images" plants: snapshots, tiled images and tiles, and the
 * blob files (a ZIP holding `data`, raw row-major pixels: VIS 8-bit Bayer,
 * NIR 16-bit) under `<blobRoot>/<database>/<YYYY-MM-DD>/blob<oid>`.
 * The awkward cases are options of `snapshot()`: rows arriving over time
 * (`completed = false` until the last), a missing or corrupt blob, a given
 * time (two snapshots of one instant, a clock an hour behind), watering-only
 * jobs, unknown labels and barcodes; `addExperiment` works while a source runs.
 * Tests and the demo only: names are the caller's (unique per run), `drop()` removes everything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import pg from 'pg';

export const SCANALYZER_SYSTEM_SQL = `
CREATE TABLE ltdbs (id bigserial PRIMARY KEY, name text NOT NULL, servername text, servertype text DEFAULT 'Postgres', creator text,
  created timestamp DEFAULT now(), removed boolean DEFAULT false, time timestamp, propagated boolean);
`;

/** The experiment database; {water} is the watering column (water_amount, or water_amount_g in some releases). */
export const SCANALYZER_EXPERIMENT_SQL = `
CREATE DOMAIN lo AS oid;
CREATE TABLE snapshot (
  id bigserial PRIMARY KEY, propagated boolean, configuration bigint, id_tag text, colour_integer int,
  visited boolean, creator text, comment text, car_tag text, measurement_label text,
  time_stamp timestamptz, weight_before real, weight_after real, {water} int, completed boolean);
CREATE TABLE tiled_image (id serial PRIMARY KEY, snapshot_id bigint, camera_label text,
  mm_pro_pixel_x double precision, mm_pro_pixel_y double precision);
CREATE TABLE tile (id serial PRIMARY KEY, tiled_image_id int, raw_image_oid lo, raw_null_image_oid lo,
  image_oid lo, null_image_oid lo, "row" int DEFAULT 0, "column" int DEFAULT 0, frame int DEFAULT 0,
  additional_information text, dataformat int, width int, height int, rotate_flip_type int DEFAULT 0);
CREATE TABLE image_file_table (id bigint PRIMARY KEY, path text);
-- The generator's own oid counter (LemnaTec allocates large-object oids; this stands for it).
CREATE SEQUENCE test_blob_oid START 100001;
`;

/** The ten views of a Danforth snapshot (4 side angles + top, visible and near-infrared). */
export const DANFORTH_VIEWS = [
  ...[0, 90, 180, 270].map((a) => `VIS_SV_${a}_z1_h1_g0_e82`), 'VIS_TV_z1_h1_g0_e82',
  ...[0, 90, 180, 270].map((a) => `NIR_SV_${a}_z1_h1_g0_e35`), 'NIR_TV_z1_h1_g0_e35',
] as const;

/** Real sizes: VIS 2454×2056 uint8 (5,045,424 bytes), NIR 636×508 uint16 (646,176 bytes). `small` divides each side by 8. */
export function viewSize(label: string, small: boolean): { width: number; height: number; bytesPerPixel: 1 | 2; dataformat: number } {
  const nir = label.toUpperCase().startsWith('NIR');
  const [w, h] = nir ? [636, 508] : [2454, 2056];
  const k = small ? 8 : 1;
  return { width: Math.floor(w / k), height: Math.floor(h / k), bytesPerPixel: nir ? 2 : 1, dataformat: nir ? 4 : 1 };
}

export interface ScanalyzerOptions {
  /** Server URL without a database, default postgres://postgres@127.0.0.1:5432 */
  serverUrl?: string;
  /** Name of the system database (unique per run). */
  systemDb: string;
  blobRoot: string;
  small?: boolean;
}

export type BlobFault = 'missing' | 'not-zip' | 'wrong-size' | 'late';

export interface SnapshotOptions {
  barcode?: string;
  /** The snapshot's time_stamp (default now). */
  time?: Date;
  /** Camera labels (default the ten Danforth views); [] = watering only. */
  views?: readonly string[];
  measurementLabel?: string;
  /** Per label: a missing blob, a blob that is not a ZIP, a raw block of the wrong size, or a blob written `lateMs` after the commit. */
  faults?: Readonly<Record<string, BlobFault>>;
  lateMs?: number;
  /** Rows arrive over time: the snapshot row (completed = false), then each image `pieceDelayMs` apart, then completed = true. */
  pieceDelayMs?: number;
  /** Leave it incomplete (completed = false). */
  incomplete?: boolean;
  waterAmount?: number;
  rotateFlipType?: number;
}

export interface GeneratedSnapshot {
  database: string;
  id: number;
  time: Date;
  images: Array<{ label: string; oid: number; blob: string; fault?: BlobFault }>;
  /** When the snapshot became completed (its commit). */
  committedAt: number;
}

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class TestScanalyzer {
  private readonly pools = new Map<string, pg.Pool>();
  readonly databases: string[] = [];
  private readonly server: string;
  private readonly pixelCache = new Map<string, Buffer>();
  private readonly zipCache = new Map<string, Uint8Array>();
  private seq = 0;

  private constructor(readonly o: ScanalyzerOptions) {
    this.server = (o.serverUrl ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
  }

  /** Creates the system database (dropping a leftover of the same name). */
  static async create(o: ScanalyzerOptions): Promise<TestScanalyzer> {
    const s = new TestScanalyzer(o);
    await s.createDatabase(o.systemDb, SCANALYZER_SYSTEM_SQL);
    return s;
  }

  /** URL of the system database (what a lemnatec site's urlEnv variable holds). */
  get systemUrl(): string {
    return `${this.server}/${this.o.systemDb}`;
  }

  pool(db: string): pg.Pool {
    let p = this.pools.get(db);
    if (!p) {
      p = new pg.Pool({ connectionString: `${this.server}/${db}`, max: 4 });
      p.on('error', () => undefined);
      this.pools.set(db, p);
    }
    return p;
  }

  private async createDatabase(name: string, sql: string): Promise<void> {
    if (!NAME.test(name)) throw new Error(`not a plain database name: ${name}`);
    const admin = new pg.Client({ connectionString: `${this.server}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    await this.pool(name).query(sql);
  }

  /** Creates an experiment database and lists it in ltdbs (works while a source runs). */
  async addExperiment(name: string, opts: { waterColumn?: string } = {}): Promise<void> {
    await this.createDatabase(name, SCANALYZER_EXPERIMENT_SQL.replace('{water}', opts.waterColumn ?? 'water_amount'));
    this.databases.push(name);
    await this.pool(this.o.systemDb).query('INSERT INTO ltdbs (name, servername, creator) VALUES ($1, $2, $3)', [name, '127.0.0.1', 'test']);
  }

  private pixels(label: string): { raw: Buffer; size: ReturnType<typeof viewSize> } {
    const size = viewSize(label, this.o.small ?? false);
    const key = `${size.width}x${size.height}x${size.bytesPerPixel}`;
    let raw = this.pixelCache.get(key);
    if (!raw) {
      raw = Buffer.alloc(size.width * size.height * size.bytesPerPixel);
      // A gradient with some texture: compresses like an image, not like zeros.
      for (let i = 0; i < raw.length; i++) raw[i] = ((i % size.width) * 7 + Math.floor(i / size.width) * 3 + ((i * 2654435761) >>> 28)) & 0xff;
      this.pixelCache.set(key, raw);
    }
    return { raw, size };
  }

  private async writeBlob(path: string, label: string, fault: BlobFault | undefined): Promise<void> {
    await mkdir(join(path, '..'), { recursive: true });
    if (fault === 'missing') return;
    if (fault === 'not-zip') return writeFile(path, 'this is not a zip archive\n');
    const { raw, size } = this.pixels(label);
    // The same pixels make the same archive: built once per size (and fault), so a live run measures the
    // pipeline, not the generator's CRC and copies of 28 MB per snapshot.
    const key = `${size.width}x${size.height}x${size.bytesPerPixel}:${fault ?? ''}`;
    let zip = this.zipCache.get(key);
    if (!zip) {
      zip = zipSync({ data: fault === 'wrong-size' ? raw.subarray(0, raw.length - 17) : raw }, { level: 0 });
      this.zipCache.set(key, zip);
    }
    await writeFile(path, zip);
  }

  /** Images a plant: the snapshot row, its tiled images and tiles, and the blobs. */
  async snapshot(db: string, s: SnapshotOptions = {}): Promise<GeneratedSnapshot> {
    const p = this.pool(db);
    const time = s.time ?? new Date();
    const views = s.views ?? DANFORTH_VIEWS;
    const n = ++this.seq;
    const barcode = s.barcode ?? `Fp001AB${String(n).padStart(6, '0')}`;
    const inPieces = s.pieceDelayMs !== undefined;
    const { rows } = await p.query<{ id: string }>(
      `INSERT INTO snapshot (id_tag, car_tag, measurement_label, time_stamp, weight_before, weight_after, water_amount, completed, creator, visited)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'LemnaTec', true) RETURNING id`,
      [barcode, `car${n}`, s.measurementLabel ?? 'Bellwether_2026', time, 1000 + n, 1100 + n, s.waterAmount ?? (views.length === 0 ? 150 : -1), false],
    ).catch(async (err: Error & { code?: string }) => {
      // A release that names the column water_amount_g: PostgreSQL's undefined_column (42703), not its message.
      if (err.code !== '42703') throw err;
      return p.query<{ id: string }>(
        `INSERT INTO snapshot (id_tag, car_tag, measurement_label, time_stamp, weight_before, weight_after, water_amount_g, completed, creator, visited)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'LemnaTec', true) RETURNING id`,
        [barcode, `car${n}`, s.measurementLabel ?? 'Bellwether_2026', time, 1000 + n, 1100 + n, s.waterAmount ?? -1, false],
      );
    });
    const id = Number(rows[0]!.id);
    const images: GeneratedSnapshot['images'] = [];
    const late: Array<() => Promise<void>> = [];
    for (const label of views) {
      if (inPieces) await sleep(s.pieceDelayMs);
      const { size } = this.pixels(label);
      const oid = Number((await p.query<{ o: string }>("SELECT nextval('test_blob_oid') AS o")).rows[0]!.o);
      const rel = `${time.toISOString().slice(0, 10)}/blob${oid}`;
      const blob = join(this.o.blobRoot, db, rel);
      const fault = s.faults?.[label];
      if (fault === 'late') late.push(() => this.writeBlob(blob, label, undefined));
      else await this.writeBlob(blob, label, fault);
      const ti = await p.query<{ id: number }>('INSERT INTO tiled_image (snapshot_id, camera_label, mm_pro_pixel_x, mm_pro_pixel_y) VALUES ($1, $2, 0.5, 0.5) RETURNING id', [id, label]);
      await p.query('INSERT INTO tile (tiled_image_id, raw_image_oid, raw_null_image_oid, dataformat, width, height, frame, rotate_flip_type) VALUES ($1, $2, 0, $3, $4, $5, 0, $6)',
        [ti.rows[0]!.id, oid, size.dataformat, size.width, size.height, s.rotateFlipType ?? 0]);
      await p.query('INSERT INTO image_file_table (id, path) VALUES ($1, $2)', [oid, rel]);
      images.push({ label, oid, blob, ...(fault ? { fault } : {}) });
    }
    // The instrument marks a snapshot completed once all its rows are written.
    if (!s.incomplete) await p.query('UPDATE snapshot SET completed = true WHERE id = $1', [id]);
    const committedAt = Date.now();
    if (late.length > 0) setTimeout(() => void Promise.all(late.map((f) => f())), s.lateMs ?? 1000);
    return { database: db, id, time, images, committedAt };
  }

  /** Marks a database removed in ltdbs (a source taking every listed database leaves it). */
  async remove(name: string): Promise<void> {
    await this.pool(this.o.systemDb).query('UPDATE ltdbs SET removed = true WHERE name = $1', [name]);
  }

  /** Completes a snapshot left incomplete. */
  async complete(db: string, id: number): Promise<number> {
    await this.pool(db).query('UPDATE snapshot SET completed = true WHERE id = $1', [id]);
    return Date.now();
  }

  /** Drops every database it made (the blob folder is the caller's). */
  async drop(): Promise<void> {
    for (const p of this.pools.values()) await p.end().catch(() => undefined);
    this.pools.clear();
    const admin = new pg.Client({ connectionString: `${this.server}/postgres` });
    await admin.connect();
    try {
      for (const db of [...this.databases, this.o.systemDb]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
