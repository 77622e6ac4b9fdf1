import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * A stand-in for the Maricopa field gantry and its FTP server: it writes
 * sensor files into the cache in the original TERRA-REF layout (with a
 * metadata.json per dataset), and appends one vsftpd-style xferlog line per
 * transfer, rotating the log like logrotate (create + compress +
 * delaycompress). Some lines are not completed uploads (aborted uploads,
 * downloads) and some files are outside the whitelist, as on the real site.
 *
 * Two habits of the real gantry put a path in the log more than once:
 * killed uploads (the client's process killed mid-transfer: vsftpd logs the
 * truncated file as complete, `c` with the truncated size, and the gantry
 * uploads the whole file again about a second later) and files rewritten
 * after they were sent (a new upload of the same path with new content).
 * `expected()` describes the newest content of each path.
 */

export interface SensorKind {
  /** Directory under the cache root, e.g. MovingSensor/stereoTop */
  dir: string;
  /** Files per dataset (besides metadata.json) */
  files: string[];
  /** Timestamped dataset folders (…/date/date__hh-mm-ss-mmm/) or plain date folders */
  timestamped: boolean;
  bytes: number;
}

export const SENSORS: SensorKind[] = [
  { dir: 'MovingSensor/stereoTop', files: ['left.bin', 'right.bin'], timestamped: true, bytes: 4096 },
  { dir: 'MovingSensor/flirIrCamera', files: ['ir.bin'], timestamped: true, bytes: 2048 },
  { dir: 'MovingSensor/scanner3DTop', files: ['east.ply', 'west.ply'], timestamped: true, bytes: 8192 },
  { dir: 'LemnaTec/EnvironmentLogger', files: ['environmentlogger.json'], timestamped: false, bytes: 512 },
];

/** Whitelist entries that admit the sensors above. */
export const WHITELIST = SENSORS.map((s) => s.dir);

export interface Upload {
  /** Path relative to the cache root */
  rel: string;
  /** Path as the FTP server logs it (ftpRoot + rel) */
  ftpPath: string;
  size: number;
  /** MD5 of the bytes written (what must arrive at the destination) */
  md5: string;
  /** 'c' complete or 'i' incomplete, as vsftpd logs it */
  status: 'c' | 'i';
  direction: 'i' | 'o';
  /** Expected to become a file.uploaded (completed upload in a whitelisted directory) */
  expected: boolean;
  /** Killed upload (truncated, logged complete), its retry, or a rewrite of a path sent before */
  kind?: 'killed' | 'retry' | 'rewrite';
}

export interface GantryOptions {
  cacheRoot: string;
  /** Directory of the FTP server's log: xferlog, xferlog.1, xferlog.2.gz, … */
  logDir: string;
  /** The FTP user's root as logged (vsftpd logs chroot-relative paths) */
  ftpRoot: string;
  /** Rotate after this many lines (0 = never) */
  rotateEvery: number;
  /** Rotated files kept */
  keep?: number;
  /** Share of uploads that are aborted (logged `i`, partial file left) */
  abortShare?: number;
  /** Share of lines that are downloads (`o`) of existing files */
  downloadShare?: number;
  /** Share of uploads into a directory outside the whitelist */
  outsideShare?: number;
  /** Share of uploads killed mid-transfer (truncated file logged `c`), uploaded whole again ~1 s later */
  killedShare?: number;
  /** Share of uploads rewritten (same path, new content) a few seconds later */
  rewriteShare?: number;
  /** Delay of a killed upload's retry, ms of real time (default 1000) */
  retryDelayMs?: number;
  /** Delay of a rewrite, ms of real time: uniform in [min, max] (default 2000–8000) */
  rewriteDelayMs?: [number, number];
  start?: Date;
  seed?: number;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** vsftpd's xferlog time: day of month padded with a space. */
export function xferTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** One line as vsftpd writes it (xferlog_std_format=YES); spaces in names become `_`. */
export function xferLine(u: { ftpPath: string; size: number; direction: 'i' | 'o'; status: 'c' | 'i' }, when: Date, host = '192.168.10.21', user = 'gantry'): string {
  return `${xferTime(when)} 1 ${host} ${u.size} ${u.ftpPath.replace(/ /g, '_')} b _ ${u.direction} r ${user} ftp 0 * ${u.status}`;
}

export class Gantry {
  private n = 0;
  private lines = 0;
  /** Log rotations done so far */
  rotations = 0;
  private rnd: () => number;
  private clock: number;
  readonly uploads: Upload[] = [];
  private completed: string[] = [];
  /** Uploads still to come, in real time: retries of killed uploads and rewrites. */
  private later: Array<{ due: number; run: () => Promise<void> }> = [];

  constructor(private readonly o: GantryOptions) {
    let s = o.seed ?? 42;
    this.rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    this.clock = (o.start ?? new Date('2026-11-24T06:00:00Z')).getTime();
  }

  get logPath(): string {
    return join(this.o.logDir, 'xferlog');
  }

  /** Writes one dataset of a random sensor: its files and metadata.json, with a log line each. Returns the uploads. */
  async dataset(): Promise<Upload[]> {
    await this.runDue();
    const sensor = SENSORS[Math.floor(this.rnd() * SENSORS.length)]!;
    this.clock += 1000 + Math.floor(this.rnd() * 4000);
    const t = new Date(this.clock);
    const date = t.toISOString().slice(0, 10);
    const ts = `${date}__${t.toISOString().slice(11, 19).replace(/:/g, '-')}-${String(t.getUTCMilliseconds()).padStart(3, '0')}`;
    const outside = this.rnd() < (this.o.outsideShare ?? 0.02);
    const base = outside ? `Unsorted/${sensor.dir.split('/')[1]}/${date}` : sensor.timestamped ? `${sensor.dir}/${date}/${ts}` : `${sensor.dir}/${date}`;
    const names = sensor.timestamped ? [...sensor.files, `${ts}_metadata.json`] : sensor.files.map((f) => `${ts}_${f}`);
    const out: Upload[] = [];
    for (const name of names) {
      const rel = `${base}/${name}`;
      const aborted = this.rnd() < (this.o.abortShare ?? 0.02);
      const killed = !aborted && this.rnd() < (this.o.killedShare ?? 0);
      const rewrite = !aborted && !killed && !outside && !name.endsWith('metadata.json') && this.rnd() < (this.o.rewriteShare ?? 0);
      const full = name.endsWith('metadata.json') ? metadata(sensor.dir, ts) : Buffer.alloc(sensor.bytes + Math.floor(this.rnd() * sensor.bytes), `${rel} `);
      const body = aborted || killed ? full.subarray(0, Math.floor(full.length / 3)) : full;
      const u = await this.write(rel, body, t, aborted ? 'i' : 'c', !aborted && !outside, killed ? 'killed' : undefined);
      out.push(u);
      if (killed) {
        // The gantry's retry: the whole file again, logged about a second after the truncated one.
        this.defer(this.o.retryDelayMs ?? 1000, async () => {
          this.uploads.push(await this.write(rel, full, new Date(t.getTime() + 1000), 'c', !outside, 'retry'));
        });
      }
      if (rewrite) {
        const [min, max] = this.o.rewriteDelayMs ?? [2000, 8000];
        this.defer(min + this.rnd() * (max - min), async () => {
          this.clock += 1000;
          const body2 = Buffer.alloc(sensor.bytes + Math.floor(this.rnd() * sensor.bytes), `${rel} rewritten `);
          this.uploads.push(await this.write(rel, body2, new Date(this.clock), 'c', true, 'rewrite'));
        });
      }
      if (u.status === 'c') this.completed.push(rel);
      if (this.rnd() < (this.o.downloadShare ?? 0.02) && this.completed.length) {
        const rel2 = this.completed[Math.floor(this.rnd() * this.completed.length)]!;
        const d: Upload = { rel: rel2, ftpPath: `${this.o.ftpRoot.replace(/\/$/, '')}/${rel2}`, size: (await stat(join(this.o.cacheRoot, rel2)).catch(() => ({ size: 0 }))).size, md5: '', status: 'c', direction: 'o', expected: false };
        await this.log(d, t);
        out.push(d);
      }
    }
    this.uploads.push(...out);
    return out;
  }

  /** Writes a file as an upload leaves it (bytes, then mtime) and logs the transfer. */
  private async write(rel: string, body: Buffer, t: Date, status: 'c' | 'i', expected: boolean, kind?: Upload['kind']): Promise<Upload> {
    const path = join(this.o.cacheRoot, rel);
    // The cleaner may have removed the directory since an earlier upload of this path.
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    await utimes(path, t, t);
    const md5 = createHash('md5').update(body).digest('hex');
    const u: Upload = { rel, ftpPath: `${this.o.ftpRoot.replace(/\/$/, '')}/${rel}`, size: body.length, md5, status, direction: 'i', expected, ...(kind ? { kind } : {}) };
    await this.log(u, t);
    return u;
  }

  private defer(ms: number, run: () => Promise<void>): void {
    this.later.push({ due: Date.now() + ms, run });
  }

  /** Runs the retries and rewrites that are due (in the order they were planned). */
  private async runDue(): Promise<void> {
    const now = Date.now();
    const due = this.later.filter((l) => l.due <= now);
    this.later = this.later.filter((l) => l.due > now);
    for (const l of due) await l.run();
  }

  /** Uploads planned but not done yet (retries, rewrites). */
  get planned(): number {
    return this.later.length;
  }

  /** Waits for and runs every planned retry and rewrite: call before `expected()` at the end. */
  async settle(): Promise<void> {
    while (this.later.length) {
      const next = Math.min(...this.later.map((l) => l.due));
      await sleep(Math.max(0, next - Date.now()));
      await this.runDue();
    }
  }

  private async log(u: Upload, t: Date): Promise<void> {
    await mkdir(this.o.logDir, { recursive: true });
    await appendFile(this.logPath, `${xferLine(u, t)}\n`);
    this.lines++;
    if (this.o.rotateEvery > 0 && this.lines % this.o.rotateEvery === 0) await this.rotate();
  }

  /** logrotate create + compress + delaycompress: xferlog → xferlog.1; xferlog.1 → xferlog.2.gz; … */
  async rotate(): Promise<void> {
    const keep = this.o.keep ?? 7;
    const f = (i: number) => join(this.o.logDir, i === 1 ? 'xferlog.1' : `xferlog.${i}.gz`);
    await rm(f(keep), { force: true });
    for (let i = keep - 1; i >= 2; i--) await rename(f(i), f(i + 1)).catch(() => undefined);
    if (await exists(f(1))) {
      await pipeline(createReadStream(f(1)), createGzip(), createWriteStream(f(2)));
      await rm(f(1));
    }
    await rename(this.logPath, f(1)).catch(() => undefined);
    await writeFile(this.logPath, '');
    this.rotations++;
  }

  /**
   * What must be at the destination: the newest content of each path with a
   * completed upload in the whitelist, and how many completed versions of it
   * were logged (each may be transferred once; the newest must be the one left).
   */
  expected(): Array<Upload & { versions: number }> {
    const newest = new Map<string, Upload & { versions: number }>();
    for (const u of this.uploads) {
      if (!u.expected || u.direction !== 'i' || u.status !== 'c') continue;
      newest.set(u.rel, { ...u, versions: (newest.get(u.rel)?.versions ?? 0) + 1 });
    }
    return [...newest.values()];
  }
}

/** A gantry metadata.json as LemnaTec wrote it: the time as `MM/DD/YYYY hh:mm:ss` (the gantry's Arizona clock), which the ingest's conversion reads. */
function metadata(sensor: string, ts: string): Buffer {
  const m = /^(\d{4})-(\d{2})-(\d{2})__(\d{2})-(\d{2})-(\d{2})/.exec(ts);
  const time = m ? `${m[2]}/${m[3]}/${m[1]} ${m[4]}:${m[5]}:${m[6]}` : ts;
  return Buffer.from(JSON.stringify({
    lemnatec_measurement_metadata: {
      gantry_system_variable_metadata: { time, 'position x [m]': '207.4', 'position y [m]': '3.1', 'speed x [m/s]': '0.33' },
      sensor_fixed_metadata: { 'sensor product name': sensor.split('/')[1], 'sensor serial number': 'D-001' },
      sensor_variable_metadata: {},
    },
  }, null, 2));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
