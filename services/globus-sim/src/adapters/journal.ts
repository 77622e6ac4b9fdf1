import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A durable append-only JSON-lines journal with group commit: records
 * appended while a write is in flight go out together in the next write,
 * followed by one fdatasync; `append` resolves once its record is on disk.
 * `compact` replaces the journal with a snapshot atomically (temp file,
 * fsync, rename, fsync of the directory); `compactLive` does so while the
 * journal is in use.
 */
export class Journal {
  private fh: FileHandle | undefined;
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** While a live compaction runs, appends wait in `pending` (no write may go to the file being replaced). */
  private gated = false;

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
  async compact(records: unknown[], serialized = false): Promise<void> {
    const tmp = `${Journal.file(this.dir)}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      const chunk: string[] = [];
      for (const r of records) {
        chunk.push(serialized ? (r as string) : JSON.stringify(r));
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
    if (!this.gated) this.flushing ??= this.flush();
    return p;
  }

  /**
   * Compaction during a run. `snapshot()` must describe the state including
   * every record appended so far (the caller applies a change in memory
   * before appending it). Steps: stop starting writes, wait for the one in
   * flight, take the snapshot — the records still pending are in it, so
   * they are dropped, and their appends resolve once the new journal is on
   * disk — write it atomically, then let appends made meanwhile follow it.
   * On failure the old journal stays and the pending records are kept.
   */
  async compactLive(snapshot: () => unknown[]): Promise<boolean> {
    if (this.gated || this.closed) return false;
    this.gated = true;
    let lines: string[] = [];
    let covered: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
    try {
      while (this.flushing) await this.flushing;
      // Serialized now: the state goes on changing while the file is written.
      const records = snapshot().map((r) => JSON.stringify(r));
      lines = this.pending.splice(0);
      covered = this.waiters.splice(0);
      await this.compact(records, true);
      for (const w of covered) w.resolve();
      return true;
    } catch (err) {
      this.pending.unshift(...lines);
      this.waiters.unshift(...covered);
      throw err;
    } finally {
      this.gated = false;
      if (this.pending.length) this.flushing ??= this.flush();
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length && !this.gated) {
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
