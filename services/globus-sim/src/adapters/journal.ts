import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A durable append-only JSON-lines journal with group commit: records
 * appended while a write is in flight go out together in the next write,
 * followed by one fdatasync; `append` resolves once its record is on disk.
 * `compact` replaces the journal with a snapshot atomically (temp file,
 * fsync, rename, fsync of the directory).
 */
export class Journal {
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly dir: string) {}

  static file(dir: string): string {
    return join(dir, 'journal.jsonl');
  }

  /** Reads every record (a torn last line, from a crash mid-write, is ignored) and opens for appending. */
  static async open(dir: string): Promise<{ journal: Journal; records: unknown[] }> {
    await mkdir(dir, { recursive: true });
    const records: unknown[] = [];
    const text = await readFile(Journal.file(dir), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line));
      } catch {
        break;
      }
    }
    const j = new Journal(dir);
    return { journal: j, records };
  }

  /** Rewrites the journal as exactly `records`, atomically, then appends after them. */
  async compact(records: unknown[]): Promise<void> {
    const tmp = `${Journal.file(this.dir)}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      const chunk: string[] = [];
      for (const r of records) {
        chunk.push(JSON.stringify(r));
        if (chunk.length >= 1000) await fh.write(`${chunk.splice(0).join('\n')}\n`);
      }
      if (chunk.length) await fh.write(`${chunk.join('\n')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, Journal.file(this.dir));
    const d = await open(this.dir, 'r');
    await d.sync().finally(() => d.close());
    await this.fh?.close();
    this.fh = await open(Journal.file(this.dir), 'a');
  }

  append(record: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    this.pending.push(`${JSON.stringify(record)}\n`);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flushing ??= this.flush();
    return p;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length) {
        const lines = this.pending.splice(0);
        const waiters = this.waiters.splice(0);
        try {
          this.fh ??= await open(Journal.file(this.dir), 'a');
          await this.fh.write(lines.join(''));
          await this.fh.datasync();
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.fh?.close();
    this.fh = undefined;
  }
}
