import { open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { mkdir } from 'node:fs/promises';

export interface StagedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * The staging area the source owns: files written whole (a hidden temp name,
 * fsync, rename), so the pipeline never sees a partial one; the bytes held
 * are counted so the source can stop exporting when the area is full.
 */
export class Staging {
  private held = 0;

  constructor(readonly root: string) {}

  get bytes(): number {
    return this.held;
  }

  /** Counts what a previous run left (it is sent or cleaned by the resumed work). */
  async measure(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    this.held = await du(this.root);
  }

  abs(rel: string): string {
    const p = resolve(this.root, rel);
    if (!p.startsWith(resolve(this.root) + sep)) throw new Error(`${rel} leaves the staging root`);
    return p;
  }

  async write(rel: string, data: Buffer | string): Promise<StagedFile> {
    const path = this.abs(rel);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const before = await stat(path).then((s) => s.size, () => 0);
    await rename(tmp, path);
    const st = await stat(path);
    this.held += st.size - before;
    return { path, size: st.size, mtimeMs: st.mtimeMs };
  }

  async stat(rel: string): Promise<StagedFile | null> {
    const path = this.abs(rel);
    return stat(path).then((s) => ({ path, size: s.size, mtimeMs: s.mtimeMs }), () => null);
  }

  /** The names in a folder of the area (none when it does not exist). */
  async list(rel: string): Promise<Set<string>> {
    return new Set(await readdir(this.abs(rel)).catch(() => [] as string[]));
  }

  async remove(rel: string): Promise<void> {
    const path = this.abs(rel);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) return;
    await unlink(path).catch(() => undefined);
    this.held = Math.max(0, this.held - size);
  }

  /** Removes a snapshot folder once empty, and its empty parents up to the root. */
  async removeFolder(rel: string): Promise<void> {
    const dir = this.abs(rel);
    for (const f of await readdir(dir).catch(() => [] as string[])) if (f.startsWith('.') && f.endsWith('.tmp')) await rm(join(dir, f), { force: true });
    let d = dir;
    while (relative(this.root, d) !== '' && !relative(this.root, d).startsWith('..')) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
      d = dirname(d);
    }
  }
}

async function du(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await du(p);
    else if (e.isFile()) total += await stat(p).then((s) => s.size, () => 0);
  }
  return total;
}
