import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeCursor, encodeCursor, type CursorState } from '../core/cursor.js';

/**
 * The cursor file: versioned JSON, written to a temp file, fsynced, renamed
 * over the old one and the directory fsynced, so after a crash it holds either
 * the previous cursor or the new one, never a torn mix.
 */
export class CursorStore {
  private readonly tmp: string;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.tmp`);
  }

  /** The stored cursor, undefined when there is none; throws when it exists but cannot be trusted. */
  async load(): Promise<CursorState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return decodeCursor(text);
  }

  async save(state: CursorState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.tmp, 'w', 0o644);
    try {
      await fh.writeFile(encodeCursor(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async remove(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}
