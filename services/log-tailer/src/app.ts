import { createEvent } from '@terra-transfer/contracts';
import { DEAD_LETTER_HEADERS, Limiter, classify, retry, sleep, type AmqpClient, type Catalogued, type Logger, type Registry } from '@terra-transfer/platform';
import { isHidden, isWhitelisted, sensorOf } from '@terra-transfer/site-layout';
import { uploadId, type CursorState } from './core/cursor.js';
import type { Line } from './core/lines.js';
import { hasHiddenComponent, mayNameHidden } from './core/lossy-name.js';
import { SentVersions, UNDECIDABLE_TEXT, chooseCandidate, type Undecidable } from './core/lossy-name-choice.js';
import { kindOf, parseXferlog, zonedToUtc, type XferRecord } from './core/xferlog.js';
import type { CursorStore } from './adapters/cursor-store.js';
import { Follower, type FollowerOptions, type SourceView } from './adapters/follower.js';
import type { Candidate, Resolver } from './adapters/resolver.js';
import { tailerTelemetry, type TailerTelemetry } from './telemetry.js';

export interface TailerDeps {
  site: string;
  timeZone: string;
  whitelist: readonly string[];
  follower: FollowerOptions;
  publishWindow: number;
  /** Versions sent lately that are remembered, the evidence between names that log alike. */
  sentVersionsMemory: number;
  checkpointIntervalMs: number;
  checkpointEveryLines: number;
  amqp: AmqpClient;
  /** Queue (bound to the dead-letter exchange by its name) for lines the tailer must not guess about. */
  rejectsQueue: string;
  resolver: Resolver;
  store: CursorStore;
  logger: Logger;
  registry: Registry;
}

/**
 * The tailer: log lines in, confirmed file.uploaded events out. A line is
 * settled in its file's watermark (and so may enter the durable cursor) only
 * once its event is confirmed by the broker, or when it needs no event.
 * Publishes run concurrently up to the window; a failed publish is retried
 * until it succeeds or the tailer stops (then the line stays unsettled and is
 * read again after the restart).
 */
export class Tailer {
  readonly telemetry: TailerTelemetry;
  private readonly follower: Follower;
  /** The publish window. */
  private readonly window: Limiter;
  /** Aborted when the tailer stops reading: a line waiting for room in the window gives up (it stays unsettled). */
  private readonly intake = new AbortController();
  private settledSinceSave = 0;
  private lastSaved = '';
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();
  private lastSensorDir: string | undefined;
  private lastSensor = '';
  private lastWallMs = NaN;
  private lastFtpTime = '';
  private readonly sent: SentVersions;

  constructor(private readonly deps: TailerDeps) {
    this.telemetry = tailerTelemetry(deps.logger, deps.registry);
    this.sent = new SentVersions(deps.sentVersionsMemory);
    this.window = new Limiter(deps.publishWindow);
    this.follower = new Follower(deps.follower, (source, lines) => this.onLines(source, lines), this.telemetry.follower);
  }

  /** Loads the cursor, finds its files again and starts following. The broker must be connected. */
  async start(): Promise<void> {
    let state: CursorState | 'unreadable' | undefined;
    try {
      state = await this.deps.store.load();
    } catch (err) {
      this.telemetry.cursorUnreadable(this.deps.store.path, err);
      state = 'unreadable';
    }
    await this.follower.start(state);
    // Record the files we start from at once: a crash before the first
    // settled line must not turn the next start into a first start (which
    // would ignore rotated files written to in between).
    await this.checkpoint(true);
    this.timer = setInterval(() => {
      this.telemetry.gauges(this.follower.lagBytes(), this.follower.openFiles());
      void this.checkpoint();
    }, this.deps.checkpointIntervalMs);
  }

  /** Wakes the reader at once (tests, or a caller that knows the log grew). */
  poke(): void {
    this.follower.wake();
  }

  /** The cursor as it would be saved now. */
  snapshot(): CursorState {
    return this.follower.snapshot();
  }

  /**
   * Stops reading, waits up to `drainMs` for the publishes in flight, then
   * saves the cursor a last time. Idempotent.
   */
  stop(drainMs = 10_000): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.intake.abort();
      await this.follower.stop();
      await Promise.race([this.window.idle(), sleep(drainMs)]);
      this.stopSignal.abort();
      if (this.timer) clearInterval(this.timer);
      await this.checkpoint(true);
    })();
    return this.stopped;
  }

  /** Saves the cursor if it moved (and enough time or lines passed); one save at a time. */
  async checkpoint(force = false): Promise<void> {
    if (this.saving) {
      await this.saving;
      if (!force) return;
    }
    const state = this.follower.snapshot();
    const text = JSON.stringify(state);
    if (text === this.lastSaved) return;
    this.saving = (async () => {
      try {
        await this.deps.store.save(state);
        this.lastSaved = text;
        this.settledSinceSave = 0;
        this.telemetry.checkpoint('saved');
      } catch (err) {
        this.telemetry.checkpoint('failed', err);
      }
    })();
    try {
      await this.saving;
    } finally {
      this.saving = undefined;
    }
  }

  private async onLines(source: SourceView, lines: Line[]): Promise<void> {
    // These lines are read: directory facts looked up from now on are newer than every one of them.
    this.deps.resolver.beginBatch();
    for (const line of lines) {
      // Stopping: the rest stay unsettled, so the cursor ends before them and they are read again.
      if (this.stopping) return;
      const body = this.decide(source, line);
      if (!body) continue;
      // A slot in the publish window: at once while there is room (no await per line), else wait for one.
      if (!this.window.hasRoom && !(await this.window.room(this.intake.signal))) return;
      const ticket = source.watermark.add(line.end);
      const done = (ok: boolean) => {
        if (ok) {
          source.watermark.settle(ticket);
          if (body.kind === 'event') this.telemetry.published();
          if (++this.settledSinceSave >= this.deps.checkpointEveryLines) void this.checkpoint();
        }
      };
      // First attempt without an async wrapper (this runs once per line); retries go through the loop.
      void this.window.run(() =>
        this.publishOnce(body).then(
          () => done(true),
          (err: unknown) => this.publishUntilConfirmed(body, err).then(done),
        ),
      );
    }
  }

  /** What a line needs: nothing (it is settled at once), an event, or a dead letter. */
  private decide(source: SourceView, line: Line): Publish | undefined {
    const wm = source.watermark;
    const t = this.telemetry;
    if (line.tooLong) {
      t.skipped('too_long', source.path, line.start, { bytes: line.end - line.start - 1 });
      wm.add(line.end, true);
      return undefined;
    }
    const parsed = parseXferlog(line.text);
    if (!parsed.ok) {
      if (parsed.reason !== 'empty') t.skipped('unparseable', source.path, line.start, { reason: parsed.reason, head: printable(line.text.slice(0, 120)) });
      wm.add(line.end, true);
      return undefined;
    }
    const r = parsed.record;
    const kind = kindOf(r);
    if (kind !== 'upload') {
      t.skipped(kind, source.path, line.start);
      wm.add(line.end, true);
      return undefined;
    }
    if (this.loggedHidden(r)) {
      t.skipped('hidden', source.path, line.start);
      wm.add(line.end, true);
      return undefined;
    }
    const id = uploadId(source.fingerprint, line.start);
    let res = this.deps.resolver.resolve(r.filename, r.username);
    if (res.kind === 'ambiguous') {
      const choice = chooseCandidate(r.bytes, res.candidates.map((c) => ({ size: c.stats.size, mtimeMs: c.stats.mtimeMs, sent: this.sent.has(c.path, c.stats.size, c.stats.mtimeMs) })));
      if (choice.kind === 'undecidable') return this.undecidable(source, line, r, id, res.candidates, choice.reason);
      const c = res.candidates[choice.index]!;
      res = c.rejected ? { kind: 'rejected', reason: c.rejected } : { kind: 'found', path: c.path, relPath: c.relPath, stats: c.stats };
    }
    if (res.kind === 'gone') {
      t.skipped('gone', source.path, line.start, { file: printable(r.filename) });
      wm.add(line.end, true);
      return undefined;
    }
    if (res.kind === 'rejected') {
      t.skipped('rejected', source.path, line.start, { file: printable(r.filename), detail: res.reason });
      return { kind: 'reject', id, code: 'PATH_REJECTED', detail: res.reason, line: line.text, headers: lineHeaders(source, line) };
    }
    if (isHidden(res.relPath)) {
      t.skipped('hidden', source.path, line.start);
      wm.add(line.end, true);
      return undefined;
    }
    if (!isWhitelisted(res.relPath, this.deps.whitelist)) {
      t.skipped('not_whitelisted', source.path, line.start);
      wm.add(line.end, true);
      return undefined;
    }
    // Sent from here on (retried until confirmed): the evidence for a later line that logs alike.
    this.sent.note(res.path, res.stats.size, res.stats.mtimeMs);
    return { kind: 'event', event: this.event(id, r, res) };
  }

  /**
   * True when the logged path names a hidden component once normalised: `/./`,
   * `//` and `..` are resolved first (`/a/./b` is `a/b`, not hidden), then any
   * component starting with a dot is hidden. A path that maps to nothing is
   * left to the resolver, which rejects it.
   */
  private loggedHidden(r: XferRecord): boolean {
    if (!mayNameHidden(r.filename)) return false;
    const mapped = this.deps.resolver.map(r.filename, r.username);
    return mapped.ok && hasHiddenComponent(mapped.components);
  }

  private event(id: string, r: XferRecord, f: { path: string; relPath: string; stats: { size: number; mtimeMs: number } }): FileUploadedEvent {
    return createEvent('file.uploaded', id, {
      site: this.deps.site,
      sensor: this.sensorOf(f.relPath),
      path: f.path,
      size: f.stats.size,
      mtimeMs: f.stats.mtimeMs,
      ftpTime: this.ftpTime(r.wallMs),
      source: 'xferlog',
      attempt: 1,
      uploadId: id,
    });
  }

  /**
   * A line whose name stands for several files and whose evidence does not
   * decide: dead-lettered for an operator with the line (body), where it is
   * in the log, its logged size, every candidate (path, size, mtime, whether
   * its version was already sent) and, for each one that may be sent, the
   * very event the tailer would have published for it, ready to publish.
   */
  private undecidable(source: SourceView, line: Line, r: XferRecord, id: string, candidates: readonly Candidate[], reason: Undecidable): Publish {
    const listed = candidates.slice(0, MAX_LISTED_CANDIDATES).map((c) => {
      const sendable = !c.rejected && !isHidden(c.relPath) && isWhitelisted(c.relPath, this.deps.whitelist);
      return {
        path: c.path,
        size: c.stats.size,
        mtimeMs: c.stats.mtimeMs,
        mtime: new Date(c.stats.mtimeMs).toISOString(),
        sent: this.sent.has(c.path, c.stats.size, c.stats.mtimeMs),
        ...(c.rejected ? { rejected: c.rejected } : {}),
        event: sendable ? this.event(id, r, c) : null,
      };
    });
    const names = listed.slice(0, 5).map((c) => `${c.path} (${c.size} B, mtime ${c.mtime}${c.sent ? ', sent' : ''})`).join('; ');
    const detail = `${candidates.length} files match ${printable(r.filename)} (logged size ${r.bytes} B): ${names}${candidates.length > 5 ? '; …' : ''}. Undecided: ${UNDECIDABLE_TEXT[reason]}`;
    this.telemetry.skipped('ambiguous', source.path, line.start, { file: printable(r.filename), reason, candidates: candidates.length });
    return {
      kind: 'reject',
      id,
      code: 'AMBIGUOUS_NAME',
      detail,
      line: line.text,
      headers: { ...lineHeaders(source, line), [REJECT_HEADERS.loggedSize]: r.bytes, [REJECT_HEADERS.candidates]: JSON.stringify(listed) },
    };
  }

  /** The line's time in UTC as ISO 8601; consecutive lines mostly share their second, so the last one is remembered. */
  private ftpTime(wallMs: number): string {
    if (wallMs !== this.lastWallMs) {
      this.lastWallMs = wallMs;
      this.lastFtpTime = new Date(zonedToUtc(wallMs, this.deps.timeZone)).toISOString();
    }
    return this.lastFtpTime;
  }

  /** sensorOf depends on the directory only, and consecutive lines mostly share one: remembered for the last directory. */
  private sensorOf(relPath: string): string {
    const dir = relPath.slice(0, relPath.lastIndexOf('/') + 1);
    if (dir !== this.lastSensorDir) {
      this.lastSensorDir = dir;
      this.lastSensor = sensorOf(relPath);
    }
    return this.lastSensor;
  }

  private publishOnce(p: Publish): Promise<void> {
    if (p.kind === 'event') return this.deps.amqp.publish(p.event);
    return this.deps.amqp.publishRaw(this.deps.amqp.topology.deadLetterExchange, this.deps.rejectsQueue, Buffer.from(p.line, 'latin1'), {
      messageId: p.id,
      contentType: 'text/plain',
      headers: { ...p.headers, [DEAD_LETTER_HEADERS.code]: p.code, [DEAD_LETTER_HEADERS.detail]: p.detail.slice(0, 2000), [DEAD_LETTER_HEADERS.at]: new Date().toISOString() },
    });
  }

  private publishFailed(err: unknown, attempt: number): void {
    const c = classify(err);
    this.telemetry.publishFailed(c.code, attempt, c.message);
  }

  /** After a failed first attempt: publishes until the broker confirms; false only when the tailer stops first. */
  private publishUntilConfirmed(p: Publish, firstError: unknown): Promise<boolean> {
    const attemptOnce = (attempt: number) => (attempt === 1 ? Promise.reject(firstError) : this.publishOnce(p));
    return retry(attemptOnce, { backoff: PUBLISH_BACKOFF, retryable: () => true, signal: this.stopSignal.signal, onRetry: (err, attempt) => this.publishFailed(err, attempt) }).then(
      () => true,
      () => false, // only a stop ends the retrying
    );
  }
}

type FileUploadedEvent = ReturnType<typeof createEvent<'file.uploaded'>>;

type Publish =
  | { kind: 'event'; event: FileUploadedEvent }
  | { kind: 'reject'; id: string; code: Catalogued<'AMBIGUOUS_NAME' | 'PATH_REJECTED'>; detail: string; line: string; headers: Record<string, string | number> };

/**
 * Headers of the tailer's dead letters besides the common ones
 * (DEAD_LETTER_HEADERS): where the line is, and for an undecided name its
 * logged size and candidates (JSON). Operators read them: see
 * docs/decisions/0002-log-reader.md, "Names that log alike".
 */
const REJECT_HEADERS = {
  logFile: 'x-terra-xferlog-file',
  logOffset: 'x-terra-xferlog-offset',
  loggedSize: 'x-terra-logged-size',
  candidates: 'x-terra-candidates',
} as const;

/** Waits between tries of a publish: 200 ms doubling to 5 s. */
const PUBLISH_BACKOFF = { baseMs: 200, maxMs: 5_000 };

/** Candidates listed in a dead letter, at most (a header stays far below the broker's frame size). */
const MAX_LISTED_CANDIDATES = 20;

function lineHeaders(source: SourceView, line: Line): Record<string, string | number> {
  return { [REJECT_HEADERS.logFile]: source.path, [REJECT_HEADERS.logOffset]: line.start };
}

/** A log-safe rendering of bytes that may be anything. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}
