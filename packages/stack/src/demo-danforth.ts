/**
 * The demo's Danforth writer: a test Scanalyzer (its own databases, unique
 * per run, dropped at exit) that "images" plants while the demo runs, and a
 * check of what the lemnatec source made of each snapshot. The source deletes
 * its staged copies once they arrived, so the check reads the destination
 * against what the generator wrote: every PNG's pixels decoded and compared
 * with the raw pixels in its blob (ZIP `data`, read again from the blob
 * file), and metadata.json's snapshot id, barcode, time and image list
 * compared with the generated rows. A file that passes is an `ExpectedFile`
 * with the destination's md5 and size (so the volumes check counts exactly
 * the verified bytes); one that fails, or is absent, gets an md5 no file has
 * and is reported missing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { Site } from '@terra-transfer/sites';
import { TestScanalyzer, type GeneratedSnapshot } from './scanalyzer.js';
import { destinationPathOf, type ExpectedFile } from './verify.js';

/** The sensor folder (and Clowder collection) of a Danforth snapshot. */
const SENSOR = 'ddpscIndoorSuite';
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** `YYYY-MM-DD__hh-mm-ss-mmm` in UTC: the source's snapshot folder name. */
const timeName = (t: Date) => `${t.toISOString().slice(0, 10)}__${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}-${pad(t.getUTCSeconds())}-${pad(t.getUTCMilliseconds(), 3)}`;
/** What `expected()` says before the end check (and for a file that failed it): no file has this md5. */
const UNVERIFIED = 'unverified';

interface Made { snap: GeneratedSnapshot; barcode: string; folder: string; files: string[] }

export class ScanalyzerWriter {
  private readonly made: Made[] = [];
  private last = 0;
  /** Why files failed the end check (path → reason), for the summary. */
  readonly problems: Array<{ rel: string; why: string }> = [];

  private constructor(readonly site: Site, readonly lt: TestScanalyzer, readonly database: string) {}

  /**
   * A Scanalyzer for a lemnatec site: system database `<name>_sys`, one experiment database `<name>_exp`;
   * `name` must be unique per run (a plain lower-case PostgreSQL name).
   */
  static async create(site: Site, name: string, small: boolean): Promise<ScanalyzerWriter> {
    if (site.source.kind !== 'lemnatec') throw new Error(`site ${site.name} is not a lemnatec site`);
    const lt = await TestScanalyzer.create({ systemDb: `${name}_sys`, blobRoot: site.source.blobRoot, small });
    try {
      await lt.addExperiment(`${name}_exp`);
    } catch (err) {
      await lt.drop().catch(() => undefined);
      throw err;
    }
    return new ScanalyzerWriter(site, lt, `${name}_exp`);
  }

  /** Commits one snapshot of the ten Danforth views (its own millisecond, so its dataset name is known). */
  async snapshot(): Promise<void> {
    this.last = Math.max(Date.now(), this.last + 1);
    const time = new Date(this.last);
    const barcode = `Fp001AB${pad(this.made.length + 1, 6)}`;
    const snap = await this.lt.snapshot(this.database, { time, barcode });
    const folder = `${SENSOR}/${time.toISOString().slice(0, 10)}/${timeName(time)}`;
    this.made.push({ snap, barcode, folder, files: snap.images.map((i) => `${i.label.replace(/[^A-Za-z0-9_-]/g, '-')}_${i.oid}.png`) });
  }

  get snapshots(): number {
    return this.made.length;
  }

  /** Every file the source should stage and send (paths relative to the staging root), not yet checked. */
  expected(): ExpectedFile[] {
    return this.made.flatMap((m) => ['metadata.json', ...m.files].map((f) => ({ rel: `${m.folder}/${f}`, size: 0, md5: UNVERIFIED })));
  }

  /** The end check: each file at the destination checked against the generator; see the module comment. */
  async verified(): Promise<ExpectedFile[]> {
    this.problems.length = 0;
    const out: ExpectedFile[] = [];
    for (const m of this.made) {
      const rel = `${m.folder}/metadata.json`;
      out.push(await this.check(rel, (body) => this.metadataProblem(m, body)));
      for (const [k, img] of m.snap.images.entries()) out.push(await this.check(`${m.folder}/${m.files[k]!}`, (body) => pngProblem(body, img.blob)));
    }
    return out;
  }

  private async check(rel: string, problem: (body: Buffer) => Promise<string | null>): Promise<ExpectedFile> {
    const body = await readFile(destinationPathOf(this.site, rel)).catch(() => undefined);
    const why = body ? await problem(body).catch((err: Error) => `unreadable: ${err.message}`) : 'not at the destination';
    if (why || !body) {
      this.problems.push({ rel, why: why ?? 'not at the destination' });
      return { rel, size: 0, md5: UNVERIFIED };
    }
    return { rel, size: body.length, md5: createHash('md5').update(body).digest('hex') };
  }

  private async metadataProblem(m: Made, body: Buffer): Promise<string | null> {
    const md = JSON.parse(body.toString()) as { snapshot_id?: unknown; plant_barcode?: unknown; imagedate?: unknown; images?: Record<string, unknown> };
    const want = { snapshot_id: m.snap.id, plant_barcode: m.barcode, imagedate: m.snap.time.toISOString(), images: [...m.files].sort() };
    const got = { snapshot_id: md.snapshot_id, plant_barcode: md.plant_barcode, imagedate: md.imagedate, images: Object.keys(md.images ?? {}).sort() };
    return JSON.stringify(got) === JSON.stringify(want) ? null : `metadata.json says ${JSON.stringify(got)}, the Scanalyzer ${JSON.stringify(want)}`;
  }

  /** Drops the Scanalyzer's databases (the blobs are in the demo's work dir). */
  async drop(): Promise<void> {
    await this.lt.drop();
  }
}

/**
 * A PNG checked against its blob: one grey channel, the blob's size, and
 * pixel for pixel the blob's raw data (8-bit, or 16-bit little-endian as the
 * instrument writes it). The demo's snapshots are not rotated (rotate_flip_type 0).
 */
export async function pngProblem(png: Buffer, blobFile: string): Promise<string | null> {
  const raw = unzipSync(await readFile(blobFile), { filter: (f) => f.name === 'data' })['data'];
  if (!raw) return `${blobFile}: no data entry`;
  const meta = await sharp(png).metadata();
  if (meta.format !== 'png' || meta.channels !== 1) return `not a one-channel PNG (${meta.format}, ${meta.channels} channels)`;
  const sixteen = meta.depth === 'ushort';
  const { data, info } = await sharp(png).toColourspace(sixteen ? 'grey16' : 'b-w').raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  if (info.width * info.height * (sixteen ? 2 : 1) !== raw.byteLength) return `${info.width}×${info.height} ${sixteen ? 16 : 8}-bit, the blob holds ${raw.byteLength} bytes`;
  return Buffer.compare(data, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) === 0 ? null : 'pixels differ from the blob';
}
