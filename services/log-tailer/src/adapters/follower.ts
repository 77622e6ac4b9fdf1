import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CURSOR_VERSION, fingerprint, resumePlan, type CursorState, type FileCursor } from '../core/cursor.js';
import { LineSplitter, type Line } from '../core/lines.js';
import { Watermark } from '../core/watermark.js';
import { GzReader, PlainReader, closeCandidates, openCandidates, type ByteReader, type OpenCandidate } from './log-files.js';

/**
 * The durable log reader. It follows the current log by path, and every file
 * that stops being the current log (renamed by a `create` rotation, or the
 * copy made by `copytruncate`) by identity, until it has been idle for the
 * rotate-wait grace period: vsftpd opens the log per session with O_APPEND,
 * so a long session keeps writing into the rotated file. Lines are handed to
 * the sink in file order with their offsets; the sink settles them in each
 * file's watermark once their effect is durable, and only settled offsets
 * reach the cursor (`snapshot`).
 */
export interface FollowerOptions {
  logPath: string;
  rotatedSuffix: RegExp;
  pollIntervalMs: number;
  rotateWaitMs: number;
  maxLineBytes: number;
  readChunkBytes: number;
  /** On a first start (no cursor), begin at the end of the current log instead of its start. */
  startAtEnd: boolean;
  /** How many let-go files the cursor remembers (so a restart does not read them again). */
  retiredMemory?: number;
}

/** What the sink sees of a file. */
export interface SourceView {
  readonly fingerprint: string;
  readonly path: string;
  readonly watermark: Watermark;
}

export type LineSink = (source: SourceView, lines: Line[]) => Promise<void>;

/** Occurrences the follower reports (telemetry implements them). */
export interface FollowerEvents {
  rotated(kind: 'rename' | 'copytruncate', path: string): void;
  truncated(path: string, offset: number): void;
  logUnavailable(path: string, reason: 'missing' | 'not_a_file' | 'unreadable', err?: unknown): void;
  logBack(path: string): void;
  resumed(path: string, offset: number, gz: boolean): void;
  cursorLost(files: number): void;
  partialLineDropped(path: string, offset: number, bytes: number): void;
  fileReleased(path: string, offset: number): void;
  readFailed(path: string, err: unknown): void;
  /** Rotations kept moving files while the start looked for them; it went on with its last look. */
  listingUnsettled(path: string): void;
}

class Source implements SourceView {
  fingerprint: string;
  readonly watermark: Watermark;
  readonly splitter: LineSplitter;
  lastGrowthAt = monotonicMs();
  released = false;

  constructor(
    public fp: string | null,
    public dev: number,
    public ino: number,
    public path: string,
    public reader: ByteReader | undefined,
    start: number,
    maxLineBytes: number,
  ) {
    this.fingerprint = fp ?? '';
    this.watermark = new Watermark(start);
    this.splitter = new LineSplitter(start, maxLineBytes);
  }

  cursor(): FileCursor {
    return { fingerprint: this.fp, dev: this.dev, ino: this.ino, path: this.path, offset: this.watermark.offset, retired: false };
  }
}

export class Follower {
  private readonly sources: Source[] = [];
  private active: Source | undefined;
  /** The file that was at the log path when the path went missing (a rotation seen mid-way). */
  private displaced: Source | undefined;
  private retired: FileCursor[] = [];
  private unavailable: 'missing' | 'not_a_file' | 'unreadable' | undefined;
  private watcher: FSWatcher | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly opts: FollowerOptions,
    private readonly sink: LineSink,
    private readonly events: FollowerEvents,
  ) {}

  /** Finds where to resume (among the current and rotated logs) and starts following. */
  async start(state: CursorState | 'unreadable' | undefined): Promise<void> {
    const { candidates, stable } = await openCandidates(this.opts.logPath, this.opts.rotatedSuffix, (p, err) => this.events.readFailed(p, err));
    if (!stable) this.events.listingUnsettled(this.opts.logPath);
    const plan = resumePlan(state, candidates, this.opts.startAtEnd);
    if (plan.lost) this.events.cursorLost(candidates.length);
    this.retired = state && state !== 'unreadable' ? state.files.filter((f) => f.retired) : [];
    const unused: OpenCandidate[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const start = plan.starts[i];
      if (start === null || start === undefined) unused.push(candidates[i]!);
      else await this.openCandidate(candidates[i]!, start, i === candidates.length - 1 && candidates[i]!.path === this.opts.logPath);
    }
    await closeCandidates(unused);
    try {
      // Low latency: wake on any change in the log's directory; the poll is the fallback.
      this.watcher = watch(dirname(this.opts.logPath), { persistent: false }, () => this.wake());
      this.watcher.on('error', () => undefined);
    } catch {
      this.watcher = undefined;
    }
    this.loop = this.run();
  }

  /** The durable position of every file in play, for the checkpoint. */
  snapshot(): CursorState {
    const live = this.sources.filter((s) => !s.released).map((s) => s.cursor());
    return { version: CURSOR_VERSION, files: [...this.retired, ...live] };
  }

  /** Bytes read but not yet settled, over all files (the cursor lag). */
  lagBytes(): number {
    let n = 0;
    for (const s of this.sources) n += Math.max(0, s.splitter.consumed - s.watermark.offset);
    return n;
  }

  /** Files currently open (the current log and rotated ones still drained). */
  openFiles(): number {
    return this.sources.length;
  }

  /** Stops reading (lines already handed to the sink are the sink's to settle) and closes the files. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.watcher?.close();
      this.wake();
      await this.loop?.catch(() => undefined);
      for (const s of this.sources) await s.reader?.close();
    })();
    return this.stopped;
  }

  /** Runs one full pass now (tests use it to avoid sleeping). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      try {
        await this.pass();
      } catch (err) {
        this.events.readFailed(this.opts.logPath, err);
      }
      if (this.stopping) break;
      if (!this.woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.opts.pollIntervalMs);
          this.wakeUp = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
    }
  }

  private async pass(): Promise<void> {
    await this.checkCurrent();
    // Oldest first: a rotated file's lines go out before the current log's.
    for (const s of [...this.sources]) {
      if (this.stopping) return;
      await this.drain(s);
    }
    this.releaseIdle();
  }

  /** Follows a file found at start, through the descriptor the listing opened (so it is the file the plan was made for). */
  private async openCandidate(c: OpenCandidate, start: number | 'end', isCurrent: boolean): Promise<void> {
    let reader: ByteReader;
    let offset = start === 'end' ? 0 : start;
    if (c.gz) {
      reader = new GzReader(c.handle, offset, this.opts.readChunkBytes);
    } else {
      const r = PlainReader.of(c.handle, offset, this.opts.readChunkBytes);
      if (start === 'end') offset = await lastLineEnd(r, (await r.stat()).size);
      else if (c.size < offset && !isCurrent) {
        // Shorter than where we stopped, yet the same first line: truncated
        // and rewritten while we were down. Read it all again. (The current
        // log is left at the offset: the first pass sees it shorter and looks
        // for a copytruncate copy holding the unread lines.)
        this.events.truncated(c.path, offset);
        offset = 0;
      }
      r.position = offset;
      reader = r;
    }
    const s = new Source(c.fingerprint, c.dev, c.ino, c.path, reader, offset, this.opts.maxLineBytes);
    this.sources.push(s);
    this.events.resumed(c.path, offset, c.gz);
    if (isCurrent) this.active = s;
  }

  /** Looks at what is at the log path now: the same file, a new one (rotated), a shorter one (truncated), or nothing. */
  private async checkCurrent(): Promise<void> {
    const path = this.opts.logPath;
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      this.markUnavailable((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable', err);
      return;
    }
    if (!st.isFile()) {
      this.markUnavailable('not_a_file');
      return;
    }
    const a = this.active;
    if (a && a.dev === st.dev && a.ino === st.ino) {
      if (a.reader instanceof PlainReader && (await this.isTruncated(a, st.size))) await this.onTruncated(a);
      else return;
    } else if (a) {
      // A new file at the path: `create` rotation. Keep draining the old one by its open descriptor.
      this.events.rotated('rename', path);
      a.lastGrowthAt = monotonicMs();
      this.active = undefined;
    } else if (this.displaced && (this.displaced.dev !== st.dev || this.displaced.ino !== st.ino)) {
      // We looked between logrotate's rename and its create (the path was missing for a moment): still a rotation.
      this.events.rotated('rename', path);
    }
    this.displaced = undefined;
    await this.openCurrent();
  }

  private async openCurrent(): Promise<void> {
    const path = this.opts.logPath;
    try {
      const { reader, stats } = await PlainReader.open(path, 0, this.opts.readChunkBytes);
      const s = new Source(null, stats.dev, stats.ino, path, reader, 0, this.opts.maxLineBytes);
      this.sources.push(s);
      this.active = s;
      if (this.unavailable) this.events.logBack(path);
      this.unavailable = undefined;
    } catch (err) {
      this.markUnavailable((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as NodeJS.ErrnoException).code === 'ENOTFILE' ? 'not_a_file' : 'unreadable', err);
    }
  }

  private markUnavailable(reason: 'missing' | 'not_a_file' | 'unreadable', err?: unknown): void {
    if (this.active) {
      // Deleted or replaced: what was written to it is still readable through our descriptor.
      this.active.lastGrowthAt = monotonicMs();
      this.displaced = this.active;
      this.active = undefined;
    }
    if (this.unavailable !== reason) this.events.logUnavailable(this.opts.logPath, reason, err);
    this.unavailable = reason;
  }

  private async isTruncated(s: Source, size: number): Promise<boolean> {
    if (size < (s.reader?.position ?? 0)) return true;
    if (s.fp === null || !(s.reader instanceof PlainReader)) return false;
    // Same size or longer, but a different first line: truncated and refilled between two looks.
    return !(await headIntact(s.reader, s.fp));
  }

  /**
   * The file got shorter, or its first line changed (emptied and refilled).
   * With copytruncate, its old content now lives in a rotated copy with the
   * same fingerprint: the source moves onto that copy and reads on from where
   * it was, so lines written between our last read and the copy are not
   * lost. Without a copy the unread tail is gone.
   */
  private async onTruncated(a: Source): Promise<void> {
    const from = a.reader?.position ?? 0;
    let copy: OpenCandidate | undefined;
    if (a.fp !== null) {
      const { candidates } = await openCandidates(this.opts.logPath, this.opts.rotatedSuffix, () => undefined);
      copy = candidates.find((c) => c.path !== this.opts.logPath && c.fingerprint === a.fp);
      await closeCandidates(candidates.filter((c) => c !== copy));
    }
    await a.reader?.close();
    if (copy) {
      this.events.rotated('copytruncate', copy.path);
      a.reader = copy.gz ? new GzReader(copy.handle, from, this.opts.readChunkBytes) : PlainReader.of(copy.handle, from, this.opts.readChunkBytes);
      a.dev = copy.dev;
      a.ino = copy.ino;
      a.path = copy.path;
    } else {
      this.events.truncated(a.path, from);
      a.reader = undefined;
    }
    a.lastGrowthAt = monotonicMs();
    if (this.active === a) this.active = undefined;
  }

  private async drain(s: Source): Promise<void> {
    for (;;) {
      // Read through s.reader each time: a truncation found below may move the source onto the copy.
      const r = s.reader;
      if (!r || this.stopping) return;
      const before = r.position;
      let chunk: Buffer | null;
      try {
        chunk = await r.read();
      } catch (err) {
        this.events.readFailed(s.path, err);
        return;
      }
      if (!chunk) {
        if (r instanceof GzReader && r.error) this.events.readFailed(s.path, r.error);
        return;
      }
      // copytruncate can empty and refill the file between two reads (or between the start's
      // look and the first read): the bytes at our offset would then be the new content, under
      // this file's ids, and the copy's would be skipped. The head still holding this file's first
      // line proves they are not; otherwise go back to `before` and look for the copy there.
      if (r instanceof PlainReader && s.fp !== null && !(await headIntact(r, s.fp))) {
        r.position = before;
        await this.onTruncated(s);
        continue;
      }
      s.lastGrowthAt = monotonicMs();
      const lines = s.splitter.push(chunk);
      if (lines.length === 0) continue;
      if (s.fp === null) {
        // First complete line of a new file: its fingerprint now exists and never changes.
        // Read through our own descriptor: the path may already name a newer file.
        if (r instanceof PlainReader) s.fp = fingerprint(await r.head().catch(() => Buffer.alloc(0)));
        if (s.fp === null) {
          this.events.readFailed(s.path, new Error('no fingerprint for a file with lines'));
          return;
        }
        s.fingerprint = s.fp;
      }
      await this.sink(s, lines);
    }
  }

  /** Lets go of rotated files that were idle for the grace period and whose lines are all settled. */
  private releaseIdle(): void {
    const now = monotonicMs();
    for (let i = this.sources.length - 1; i >= 0; i--) {
      const s = this.sources[i]!;
      if (s === this.active) continue;
      const ended = !s.reader || s.reader.ended;
      if (!ended && now - s.lastGrowthAt < this.opts.rotateWaitMs) continue;
      if (s.watermark.pending > 0) continue;
      const partial = s.splitter.abandonPartial();
      if (partial) this.events.partialLineDropped(s.path, partial.start, partial.bytes);
      void s.reader?.close();
      s.released = true;
      this.sources.splice(i, 1);
      this.events.fileReleased(s.path, s.watermark.offset);
      if (s.fp !== null) {
        this.retired.push({ ...s.cursor(), retired: true });
        const keep = this.opts.retiredMemory ?? 32;
        if (this.retired.length > keep) this.retired.splice(0, this.retired.length - keep);
      }
    }
  }
}

/**
 * Milliseconds on a clock that never steps. The grace period of a rotated
 * file is a duration: measured on the wall clock, a step back of the host's
 * clock (NTP, a hand-set clock) held every rotated file an hour longer, and a
 * step forward let one go at once while a session still wrote to it.
 */
function monotonicMs(): number {
  return performance.now();
}

/** True unless the open file's first line is no longer the one it was fingerprinted by (a head that cannot be read proves nothing). */
async function headIntact(r: PlainReader, fp: string): Promise<boolean> {
  let head: Buffer;
  try {
    head = await r.head();
  } catch {
    return true;
  }
  return fingerprint(head) === fp;
}

/** Offset after the last newline at or before `size` (so a start at the end never begins mid-line). */
async function lastLineEnd(r: PlainReader, size: number): Promise<number> {
  let pos = size;
  const step = 4096;
  while (pos > 0) {
    const from = Math.max(0, pos - step);
    r.position = from;
    const chunk = await r.read();
    if (!chunk) break;
    const view = chunk.subarray(0, pos - from);
    const nl = view.lastIndexOf(10);
    if (nl !== -1) return from + nl + 1;
    pos = from;
  }
  return 0;
}

