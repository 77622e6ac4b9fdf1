import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Site } from '@terra-transfer/sites';
import type { ExpectedFile } from './verify.js';

/**
 * Stand-ins for the instruments of a `directory` site, writing into its root
 * as the real ones do (no log: the directory-source finds the files):
 *
 * - a **drone** (no completion markers): each flight is a folder
 *   `<whitelisted>/<date>/<date>__<time>/` of images, each image written in
 *   two parts a moment apart, so the source sees files still being written
 *   and must wait until they settle;
 * - a **sequencer** (`completionMarkers`): each run is a folder of the same
 *   shape whose files are written first and whose marker arrives last; the
 *   source sends the run only then, whole, marker included.
 *
 * Which one writes a site is read from the site (markers or not), so a site
 * added to the site file gets its writer with no code change. Folder names
 * follow the TERRA-REF layout (`<sensor>/<date>/<date>__<time>/<file>`) so
 * Clowder datasets are named as for the gantry (pathRules `identity`).
 */
export class InstrumentWriter {
  readonly kind: 'drone' | 'sequencer';
  private readonly files = new Map<string, ExpectedFile>();
  private n = 0;

  constructor(readonly site: Site, private readonly o: { filesPerFolder?: number; bytes?: number; partPauseMs?: number } = {}) {
    if (site.source.kind !== 'directory') throw new Error(`site ${site.name} is not a directory site`);
    this.kind = site.source.completionMarkers ? 'sequencer' : 'drone';
  }

  private get root(): string {
    return (this.site.source as { root: string }).root;
  }

  /** One flight or run: writes its files (and, for a sequencer, its marker last). */
  async folder(): Promise<ExpectedFile[]> {
    const i = this.n++;
    const base = this.site.whitelist[i % this.site.whitelist.length]!;
    const day = `2026-06-${String(1 + (Math.floor(i / 60) % 28)).padStart(2, '0')}`;
    const ts = `${day}__10-${String(i % 60).padStart(2, '0')}-00-000`;
    const dir = `${base}/${day}/${ts}`;
    const count = this.o.filesPerFolder ?? 3;
    const bytes = this.o.bytes ?? 3000;
    const written: ExpectedFile[] = [];
    const names = this.kind === 'drone'
      ? Array.from({ length: count }, (_, k) => `IMG_${String(i * 100 + k).padStart(5, '0')}.tif`)
      : Array.from({ length: count }, (_, k) => `S${k + 1}_L001_R1_001.fastq.gz`);
    for (const [k, name] of names.entries()) {
      const body = Buffer.alloc(bytes + k + i, `${this.site.name} ${dir} ${name} `);
      written.push(await this.write(`${dir}/${name}`, body, this.kind === 'drone'));
    }
    if (this.kind === 'sequencer') {
      const marker = (this.site.source as { completionMarkers: { names: string[] } }).completionMarkers.names[0]!;
      written.push(await this.write(`${dir}/${marker}`, Buffer.from(`run ${ts} complete\n`), false));
    }
    return written;
  }

  /** Writes a file (in two parts a moment apart when `inParts`: a writer still at work) and records it as expected. */
  async write(rel: string, body: Buffer, inParts = false): Promise<ExpectedFile> {
    const path = join(this.root, rel);
    await mkdir(dirname(path), { recursive: true });
    if (inParts) {
      const half = Math.floor(body.length / 2);
      await writeFile(path, body.subarray(0, half));
      await sleep(this.o.partPauseMs ?? 300);
      await appendFile(path, body.subarray(half));
    } else {
      await writeFile(path, body);
    }
    const f: ExpectedFile = { rel, size: body.length, md5: createHash('md5').update(body).digest('hex'), versions: (this.files.get(rel)?.versions ?? 0) + 1 };
    this.files.set(rel, f);
    return f;
  }

  /** The newest content of every path written (what must be at the destination). */
  expected(): ExpectedFile[] {
    return [...this.files.values()];
  }
}
