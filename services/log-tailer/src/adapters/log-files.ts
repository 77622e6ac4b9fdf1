import { setTimeout as sleep } from 'node:timers/promises';
import type { Stats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FINGERPRINT_MAX_BYTES, distinctCandidates, fingerprint, type Candidate } from '../core/cursor.js';
import { rotatedGenerations } from '../core/rotation.js';

/** Reads a file's bytes in order, from a start offset; plain files keep growing, gzip files end. */
export interface ByteReader {
  readonly gz: boolean;
  /** The next bytes (a view valid until the next call), or null when nothing more is there now. */
  read(): Promise<Buffer | null>;
  /** Bytes delivered so far, counted from the start of the (uncompressed) file. */
  readonly position: number;
  /** True when a gzip stream ended (or broke); a plain file never ends. */
  readonly ended: boolean;
  close(): Promise<void>;
}

export class PlainReader implements ByteReader {
  readonly gz = false;
  readonly ended = false;
  private readonly buf: Buffer;

  private constructor(
    private readonly fh: FileHandle,
    public position: number,
    chunkBytes: number,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  static async open(path: string, position: number, chunkBytes: number): Promise<{ reader: PlainReader; stats: Stats }> {
    const fh = await open(path, 'r');
    try {
      const stats = await fh.stat();
      if (!stats.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
      return { reader: new PlainReader(fh, position, chunkBytes), stats };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** A reader over a file already open (it takes the handle over). */
  static of(fh: FileHandle, position: number, chunkBytes: number): PlainReader {
    return new PlainReader(fh, position, chunkBytes);
  }

  async read(): Promise<Buffer | null> {
    const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, this.position);
    if (bytesRead === 0) return null;
    this.position += bytesRead;
    return this.buf.subarray(0, bytesRead);
  }

  /** The first bytes of the open file, for its fingerprint. */
  async head(): Promise<Buffer> {
    const buf = Buffer.alloc(FINGERPRINT_MAX_BYTES);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  }

  /** Size and identity of the open file (it may have been renamed or unlinked since). */
  stat(): Promise<Stats> {
    return this.fh.stat();
  }

  close(): Promise<void> {
    return this.fh.close().catch(() => undefined);
  }
}

/**
 * A gzip-compressed rotated log, streamed (never loaded whole) and positioned
 * in uncompressed bytes: it decompresses and discards up to `skip`.
 */
export class GzReader implements ByteReader {
  readonly gz = true;
  ended = false;
  position = 0;
  private readonly it: AsyncIterator<Buffer>;
  private readonly destroy: () => void;
  private corrupt: unknown;

  /** Reads the open file `fh` (and closes it when done with it) from its start. */
  constructor(fh: FileHandle, private skip: number, chunkBytes: number, ownsHandle = true) {
    // Positioned reads of our own: a fs stream closes the descriptor when destroyed, whatever autoClose says.
    const file = Readable.from(chunksOf(fh, chunkBytes), { objectMode: false });
    const gunzip = createGunzip({ chunkSize: chunkBytes });
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    this.it = gunzip[Symbol.asyncIterator]();
    this.destroy = () => {
      file.destroy();
      gunzip.destroy();
      if (ownsHandle) void fh.close().catch(() => undefined);
    };
  }

  /** Set when the stream broke (corrupt or truncated gzip); the reader has ended. */
  get error(): unknown {
    return this.corrupt;
  }

  async read(): Promise<Buffer | null> {
    while (!this.ended) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.it.next();
      } catch (err) {
        this.corrupt = err;
        this.ended = true;
        return null;
      }
      if (r.done) {
        this.ended = true;
        return null;
      }
      let chunk = r.value;
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        this.position += n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) continue;
      }
      this.position += chunk.length;
      return chunk;
    }
    return null;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.destroy();
  }
}

/** An open file's bytes from its start, by positioned reads (the handle is left open). */
async function* chunksOf(fh: FileHandle, chunkBytes: number): AsyncGenerator<Buffer> {
  let pos = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await fh.read(buf, 0, chunkBytes, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The first bytes of an open file (uncompressed for .gz), enough for its fingerprint. */
async function readHead(fh: FileHandle, gz: boolean): Promise<Buffer> {
  if (!gz) {
    const buf = Buffer.alloc(FINGERPRINT_MAX_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  }
  const r = new GzReader(fh, 0, 16 * 1024, false);
  try {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < FINGERPRINT_MAX_BYTES) {
      const c = await r.read();
      if (!c) break;
      parts.push(Buffer.from(c));
      n += c.length;
    }
    return Buffer.concat(parts).subarray(0, FINGERPRINT_MAX_BYTES);
  } finally {
    await r.close();
  }
}

/** A log file found at start, held open: whatever is renamed afterwards, this is the file that was looked at. */
export interface OpenCandidate extends Candidate {
  readonly handle: FileHandle;
  readonly size: number;
}

export function closeCandidates(list: readonly OpenCandidate[]): Promise<void> {
  return Promise.all(list.map((c) => c.handle.close().catch(() => undefined))).then(() => undefined);
}

export interface ListOptions {
  /** Looks before giving up on a listing that no rotation disturbed. */
  attempts?: number;
  /** Test seam: runs after each file is opened (a test rotates the log from here). */
  afterOpen?: (path: string) => void | Promise<void>;
}

/**
 * The log's rotated generations and the log itself, oldest first, each held
 * open with its identity, one entry per file. Unreadable ones are skipped.
 *
 * A rotation can run while we look. Names are visited newest first (the
 * current log, then .1, .2.gz, …), the direction in which rotation moves a
 * file, so a file renamed mid-listing is seen twice rather than missed; the
 * listing is then taken again until the directory and every opened file's
 * name stayed the same from start to end (`stable`). The files are held open,
 * so a rotation after the listing cannot swap one for another: the follower
 * sees it as a rotation. Second sights of one file are dropped
 * (`distinctCandidates`).
 */
export async function openCandidates(logPath: string, suffix: RegExp, onSkip: (path: string, err: unknown) => void, opts: ListOptions = {}): Promise<{ candidates: OpenCandidate[]; stable: boolean }> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  const attempts = opts.attempts ?? 5;
  const generations = async (report: boolean): Promise<string[]> => {
    try {
      return rotatedGenerations(base, await readdir(dir), suffix).map((r) => r.name);
    } catch (err) {
      if (report) onSkip(dir, err);
      return [];
    }
  };
  for (let attempt = 1; ; attempt++) {
    const names = await generations(true);
    const paths = [...names.map((n) => ({ path: join(dir, n), gz: n.endsWith('.gz') })), { path: logPath, gz: false }].reverse();
    const opened: OpenCandidate[] = [];
    for (const p of paths) {
      let fh: FileHandle | undefined;
      try {
        fh = await open(p.path, 'r');
        const st = await fh.stat();
        if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
        opened.push({ path: p.path, dev: st.dev, ino: st.ino, gz: p.gz, size: st.size, fingerprint: fingerprint(await readHead(fh, p.gz)), handle: fh });
        fh = undefined;
        await opts.afterOpen?.(p.path);
      } catch (err) {
        await fh?.close().catch(() => undefined);
        // The current log missing is the follower's to report; a rotated one vanishing is a rotation.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onSkip(p.path, err);
      }
    }
    opened.reverse();
    const stable = await unchanged(names, opened, () => generations(false));
    if (stable || attempt >= attempts) {
      const { keep, dropped } = distinctCandidates(opened, logPath);
      await closeCandidates(dropped);
      return { candidates: keep, stable };
    }
    await closeCandidates(opened);
    await sleep(20 * attempt);
  }
}

/** True when the directory holds the same generations as before and every opened file is still at its name. */
async function unchanged(names: readonly string[], opened: readonly OpenCandidate[], list: () => Promise<string[]>): Promise<boolean> {
  const now = await list();
  if (now.length !== names.length || now.some((n, i) => n !== names[i])) return false;
  for (const c of opened) {
    try {
      const st = await stat(c.path);
      if (st.dev !== c.dev || st.ino !== c.ino) return false;
    } catch {
      return false;
    }
  }
  return true;
}
