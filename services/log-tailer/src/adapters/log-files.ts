import { createReadStream, type Stats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { FINGERPRINT_MAX_BYTES, fingerprint, type Candidate } from '../core/cursor.js';
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

  constructor(path: string, private skip: number, chunkBytes: number) {
    const file = createReadStream(path, { highWaterMark: chunkBytes });
    const gunzip = createGunzip({ chunkSize: chunkBytes });
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    this.it = gunzip[Symbol.asyncIterator]();
    this.destroy = () => {
      file.destroy();
      gunzip.destroy();
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

/** The first bytes of a file (uncompressed for .gz), enough for its fingerprint. */
export async function readHead(path: string, gz: boolean): Promise<Buffer> {
  if (!gz) {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(FINGERPRINT_MAX_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  const r = new GzReader(path, 0, 16 * 1024);
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

/** The log's rotated generations and the log itself, oldest first, with their identities. Unreadable ones are skipped. */
export async function listCandidates(logPath: string, suffix: RegExp, onSkip: (path: string, err: unknown) => void): Promise<Candidate[]> {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (err) {
    onSkip(dir, err);
  }
  const paths = [...rotatedGenerations(base, names, suffix).map((r) => ({ path: join(dir, r.name), gz: r.gz })), { path: logPath, gz: false }];
  const out: Candidate[] = [];
  for (const p of paths) {
    try {
      const st = await stat(p.path);
      if (!st.isFile()) {
        onSkip(p.path, Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' }));
        continue;
      }
      out.push({ path: p.path, dev: st.dev, ino: st.ino, gz: p.gz, fingerprint: fingerprint(await readHead(p.path, p.gz)) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onSkip(p.path, err);
    }
  }
  return out;
}
