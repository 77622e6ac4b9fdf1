import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Files at least this big (without hashing) are copied by `cp`; see `copyOne`. */
const CP_THRESHOLD = 32 * 1024 * 1024;
/** Files below this size are read whole, hashed and written in one go (fewer system calls than a stream). */
const SMALL_FILE = 4 * 1024 * 1024;
/**
 * Files below this size are copied and checksummed with synchronous calls: a
 * few system calls of microseconds each, where the promise API's file handles,
 * thread-pool round trips and 1 MiB stream buffers cost the simulator more CPU
 * than the copy (the gantry's small files dominate the whole-pipeline bench).
 */
const SYNC_FILE = 256 * 1024;

/** A per-file fault, named with the Globus error codes it imitates. */
export class FileFault extends Error {
  constructor(readonly code: 'FILE_NOT_FOUND' | 'PERMISSION_DENIED' | 'CHECKSUM_MISMATCH' | 'IS_A_DIRECTORY' | 'NOT_A_DIRECTORY', message: string) {
    super(message);
    this.name = 'FileFault';
  }
}

const inside = (realRoot: string, p: string): boolean => p === realRoot || p.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);

/** A Globus path ("/a/b") under an endpoint root; the path was checked for ".." at submission. */
const underRoot = (realRoot: string, globusPath: string): string => join(realRoot, globusPath);

/**
 * Resolves a source path with realpath and refuses anything that leaves the
 * endpoint root (a symlink to /etc, say): PERMISSION_DENIED, as Globus
 * answers for a path outside a collection. Missing → FILE_NOT_FOUND.
 */
export async function resolveSource(realRoot: string, globusPath: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(underRoot(realRoot, globusPath));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileFault('FILE_NOT_FOUND', `No such file or directory: ${globusPath}`);
    if (code === 'EACCES') throw new FileFault('PERMISSION_DENIED', `Permission denied: ${globusPath}`);
    throw err;
  }
  if (!inside(realRoot, real)) throw new FileFault('PERMISSION_DENIED', `Path is outside the collection root: ${globusPath}`);
  return real;
}

/**
 * Where a destination file goes: the deepest existing ancestor must resolve
 * inside the root (so a symlinked directory cannot lead out), then the
 * missing parents are created. The file itself is written to a temporary
 * name and renamed, which replaces (never follows) a symlink at the target.
 */
export async function prepareDestination(realRoot: string, globusPath: string, checkedDirs?: Map<string, string>): Promise<string> {
  const target = underRoot(realRoot, globusPath);
  // Within one pass of a task, a directory already checked and created is not checked again
  // (hundreds of files per directory); a new pass checks afresh.
  const known = checkedDirs?.get(dirname(target));
  if (known) return join(known, target.slice(dirname(target).length + 1));
  let probe = dirname(target);
  for (;;) {
    try {
      await lstat(probe);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      probe = dirname(probe);
    }
  }
  const realProbe = await realpath(probe);
  if (!inside(realRoot, realProbe)) throw new FileFault('PERMISSION_DENIED', `Destination is outside the collection root: ${globusPath}`);
  try {
    await mkdir(dirname(target), { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR' || (err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileFault('NOT_A_DIRECTORY', `A parent of ${globusPath} is not a directory`);
    throw err;
  }
  const realParent = await realpath(dirname(target));
  if (!inside(realRoot, realParent)) throw new FileFault('PERMISSION_DENIED', `Destination is outside the collection root: ${globusPath}`);
  checkedDirs?.set(dirname(target), realParent);
  return join(realParent, target.slice(dirname(target).length + 1));
}

/** MD5 of a file; `size` (when known) lets a small file be read in one call. */
export async function md5File(path: string, size?: number): Promise<string> {
  if (size !== undefined && size < SYNC_FILE) return createHash('md5').update(readFileSync(path)).digest('hex');
  const h = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A byte rate shared by every copy (the configured link bandwidth). */
export class ByteThrottle {
  private nextFree = 0;
  constructor(private readonly bytesPerSec: number) {}

  async take(n: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.nextFree = Math.max(now, this.nextFree) + (n / this.bytesPerSec) * 1000;
    const wait = this.nextFree - now;
    if (wait > 5) await sleep(wait, undefined, signal ? { signal } : undefined);
  }
}

/**
 * Copies one file to a temporary name, then renames it into place. Without
 * hashing or a bandwidth limit the kernel copies (copy_file_range, through
 * `copyFile` or, for large files, `cp`); very small files are copied with
 * synchronous calls (`SYNC_FILE`); small hashed files are read whole;
 * otherwise the bytes stream through MD5 (computed while copying, not in a
 * second read) and the throttle. `srcSize` is the size the caller just saw.
 */
export async function copyOne(src: string, dst: string, srcSize: number, o: { hash: boolean; throttle?: ByteThrottle | undefined; preserveTimestamp: boolean; signal?: AbortSignal }): Promise<{ size: number; md5: string | null }> {
  const tmp = `${dst}.globus-sim-${randomBytes(4).toString('hex')}.part`;
  try {
    let size: number;
    let md5: string | null = null;
    if (!o.throttle && srcSize < SYNC_FILE) return copySmallSync(src, tmp, dst, o);
    if (!o.hash && !o.throttle && srcSize >= CP_THRESHOLD) {
      // libuv's copyFile truncates the new file before copy_file_range, which makes ext4
      // (auto_da_alloc) flush it synchronously on close: measured 70–100 ms per 256 MiB here.
      // cp creates the file with O_EXCL and makes the same copy_file_range call without that cost.
      await execFileP('cp', ['--', src, tmp], { signal: o.signal });
      size = (await stat(tmp)).size;
    } else if (!o.hash && !o.throttle) {
      await copyFile(src, tmp);
      size = (await stat(tmp)).size;
    } else if (srcSize < SMALL_FILE && !o.throttle) {
      const buf = await readFile(src);
      if (o.hash) md5 = createHash('md5').update(buf).digest('hex');
      await writeFile(tmp, buf, { flag: 'wx' });
      size = buf.length;
    } else {
      const h = o.hash ? createHash('md5') : undefined;
      const out = await open(tmp, 'w');
      size = 0;
      try {
        for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) {
          const b = chunk as Buffer;
          h?.update(b);
          if (o.throttle) await o.throttle.take(b.length, o.signal);
          await out.write(b);
          size += b.length;
        }
      } finally {
        await out.close();
      }
      md5 = h ? h.digest('hex') : null;
    }
    if (o.preserveTimestamp) {
      const s = await stat(src);
      // Seconds as fractional numbers keep sub-millisecond precision (Date objects would drop it).
      await utimes(tmp, s.atimeMs / 1000, s.mtimeMs / 1000);
    }
    await rename(tmp, dst);
    return { size, md5 };
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** copyOne for a very small file: read whole (its size and times from the same descriptor), hashed, written, renamed. */
function copySmallSync(src: string, tmp: string, dst: string, o: { hash: boolean; preserveTimestamp: boolean }): { size: number; md5: string | null } {
  const fd = openSync(src, 'r');
  let buf: Buffer;
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(fd);
    buf = Buffer.allocUnsafe(Number(st.size));
    let got = 0;
    // The file may have shrunk since the caller's stat: copy what is there.
    for (let n = 1; got < buf.length && n > 0; got += n) n = readSync(fd, buf, got, buf.length - got, got);
    buf = buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
  const md5 = o.hash ? createHash('md5').update(buf).digest('hex') : null;
  writeFileSync(tmp, buf, { flag: 'wx' });
  // Seconds as fractional numbers keep sub-millisecond precision (Date objects would drop it).
  if (o.preserveTimestamp) utimesSync(tmp, st.atimeMs / 1000, st.mtimeMs / 1000);
  renameSync(tmp, dst);
  return { size: buf.length, md5 };
}

/**
 * Lists the regular files under a directory (recursive item), minus what the
 * task's filter_rules exclude. Symlinks are
 * ignored, as Globus does with recursive_symlinks "ignore": that also keeps a
 * link out of the root from being followed. Paths come back relative.
 */
export async function walk(dir: string, keep: (name: string, kind: 'file' | 'dir') => boolean = () => true): Promise<{ files: string[]; directories: number; symlinks: number }> {
  const files: string[] = [];
  let directories = 0;
  let symlinks = 0;
  const visit = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) symlinks++;
      else if (e.isDirectory()) {
        if (!keep(e.name, 'dir')) continue;
        directories++;
        await visit(p);
      } else if (e.isFile() && keep(e.name, 'file')) files.push(relative(dir, p));
    }
  };
  await visit(dir);
  files.sort();
  return { files, directories, symlinks };
}
