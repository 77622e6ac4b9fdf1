import { relative } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { createEvent } from '@terra-transfer/contracts';
import { Limiter, classify, retry, sleep, type AmqpClient, type Logger, type Registry } from '@terra-transfer/platform';
import { sensorOf } from '@terra-transfer/site-layout';
import { admits, completionFolder, decide, isMarker, mayHoldAdmitted, type MarkerRule } from './core/decide.js';
import { Settling } from './core/settling.js';
import { directoryUploadId } from './core/upload-id.js';
import type { SentStore } from './adapters/sent-store.js';
import { hasAnyFile, isFolder, statAll, walkFiles, type FoundFile } from './adapters/walk.js';
import { watchFolders } from './adapters/watcher.js';
import { directoryTelemetry, type DirectoryTelemetry, type ScanKind } from './telemetry.js';

export interface DirectorySourceDeps {
  site: string;
  /** The site's root, without a trailing slash. */
  root: string;
  settleMs: number;
  markers?: MarkerRule | undefined;
  poll: boolean;
  pollIntervalMs: number;
  whitelist: readonly string[];
  exclude: readonly string[];
  /** Watch for hints (chokidar); false: full scans only. */
  watch?: boolean;
  fullScanIntervalMs: number;
  tickMs: number;
  maxSettling: number;
  maxHints: number;
  chunk: number;
  publishWindow: number;
  amqp: Pick<AmqpClient, 'publish'>;
  sent: SentStore;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

/**
 * The directory source: files in the root in, confirmed file.uploaded events
 * out. Watch events and scans only say where to look; every decision comes
 * from a stat and the durable record of what was sent (Redis), and a version
 * is recorded only once the broker confirmed its event: a crash in between
 * publishes the same version again under the same upload id, which the
 * batcher's claim absorbs. Memory holds the settling files (capped), the
 * hints (capped) and one chunk, whatever the size of the tree.
 */
export class DirectorySource {
  readonly telemetry: DirectoryTelemetry;
  private readonly settling: Settling;
  private readonly now: () => number;
  /** Hints, relative to the root: files to look at, folders to list, completed folders to walk whole. */
  private readonly fileHints = new Set<string>();
  private readonly folderHints = new Set<string>();
  private readonly completedHints = new Set<string>();
  private fullScanRequested = true;
  private lastFullScanAt = -Infinity;
  /** Paths being sent (a path is never sent twice at once). */
  private readonly inFlight = new Set<string>();
  /** The publish window. */
  private readonly window: Limiter;
  private watcher: FSWatcher | undefined;
  private rootPresent = false;
  /** Whether the root was looked at yet (the first look reports a missing root too). */
  private rootChecked = false;
  private started = false;
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private rounds: Promise<void> = Promise.resolve();

  constructor(private readonly deps: DirectorySourceDeps) {
    this.telemetry = directoryTelemetry(deps.logger, deps.registry, deps.site);
    this.window = new Limiter(deps.publishWindow);
    this.settling = new Settling(deps.maxSettling);
    this.now = deps.now ?? Date.now;
  }

  /** Starts watching and scanning (a full scan first). The broker and Redis must answer. */
  start(): void {
    if (this.loop) return;
    this.started = true;
    this.loop = this.run();
  }

  /** True once started and while the root exists. */
  ready(): boolean {
    return this.started && this.rootPresent && !this.abort.signal.aborted;
  }

  /** Files waiting to settle now. */
  settlingCount(): number {
    return this.settling.size;
  }

  /** Runs one round now (tests): hints, settled files, and a full scan when due or `full`. */
  async tick(full = false): Promise<void> {
    if (full) this.fullScanRequested = true;
    await this.round();
  }

  /** Rounds never overlap (the loop's and a test's `tick`): each waits for the one before. */
  private round(): Promise<void> {
    const next = this.rounds.then(() => this.roundOnce());
    this.rounds = next.catch(() => undefined);
    return next;
  }

  /** Waits until no publish is in flight. */
  idle(): Promise<void> {
    return this.window.idle();
  }

  /** Stops watching, scanning and publishing, waits up to `drainMs` for the publishes in flight. Idempotent. */
  stop(drainMs = 10_000): Promise<void> {
    this.stopped ??= (async () => {
      // No new publish from here; those in flight finish (a confirmed one is still recorded: see retrying).
      this.abort.abort();
      await this.closeWatcher();
      await this.loop?.catch(() => undefined);
      await Promise.race([this.idle(), sleep(drainMs)]);
    })();
    return this.stopped;
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.round();
      } catch (err) {
        // Redis or the file system failed mid-round: the next round starts over (nothing was recorded that was not sent).
        const c = classify(err);
        this.telemetry.publishFailed(c.code, 1, c.message);
      }
      await sleep(this.deps.tickMs, this.abort.signal);
    }
  }

  /** One round: the root, a full scan when due, then the hints and the settling files that are due. */
  private async roundOnce(): Promise<void> {
    if (!(await this.checkRoot())) return;
    const due = this.now() - this.lastFullScanAt >= this.deps.fullScanIntervalMs;
    if (this.fullScanRequested || due) await this.fullScan();
    for (const rel of take(this.completedHints)) await this.scan('completed', rel, true);
    for (const rel of take(this.folderHints)) await this.scan('folder', rel, false);
    const files = take(this.fileHints);
    for (let i = 0; i < files.length; i += this.deps.chunk) await this.lookAt(files.slice(i, i + this.deps.chunk), 'hint');
    await this.settledDue();
    this.telemetry.settling(this.settling.size);
  }

  /** The root must exist: while it is missing the source is not ready and the watch is closed; when it is back, a full scan runs. */
  private async checkRoot(): Promise<boolean> {
    const present = await isFolder(this.deps.root);
    if (present !== this.rootPresent || !this.rootChecked) this.telemetry.root(present, this.deps.root);
    this.rootChecked = true;
    if (!present) {
      this.rootPresent = false;
      await this.closeWatcher();
      return false;
    }
    if (!this.rootPresent) this.fullScanRequested = true;
    this.rootPresent = true;
    if (!this.watcher && this.deps.watch !== false && !this.abort.signal.aborted) this.openWatcher();
    return true;
  }

  private openWatcher(): void {
    const root = this.deps.root;
    this.watcher = watchFolders(root, {
      poll: this.deps.poll,
      pollIntervalMs: this.deps.pollIntervalMs,
      ignoreFolder: (abs) => {
        const rel = relative(root, abs);
        return !rel.startsWith('..') && !mayHoldAdmitted(rel, this.deps.whitelist);
      },
    }, {
      path: (abs) => this.hint(this.fileHints, abs),
      folder: (abs) => this.hint(this.folderHints, abs),
      error: (err) => this.telemetry.watcherError(err),
    });
  }

  private async closeWatcher(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close().catch((err: unknown) => this.telemetry.watcherError(err));
  }

  private hint(set: Set<string>, abs: string): void {
    const rel = relative(this.deps.root, abs);
    if (rel.startsWith('..')) return;
    if (this.fileHints.size + this.folderHints.size >= this.deps.maxHints) {
      // Past the cap a hint is dropped: the full scan sees everything a hint would have pointed at.
      if (!this.fullScanRequested) this.telemetry.hintsDropped(1);
      this.fullScanRequested = true;
      return;
    }
    set.add(rel);
  }

  private async fullScan(): Promise<void> {
    this.fullScanRequested = false;
    this.lastFullScanAt = this.now();
    // Hints queued so far are covered by this scan.
    this.fileHints.clear();
    this.folderHints.clear();
    await this.scan('full', '', true);
  }

  /** Walks a folder (or the whole root) as a stream and decides its files a chunk at a time. */
  private async scan(kind: ScanKind, relDir: string, recursive: boolean): Promise<void> {
    const t0 = performance.now();
    let files = 0;
    const walk = walkFiles(this.deps.root, relDir, {
      recursive,
      descend: (rel) => mayHoldAdmitted(rel, this.deps.whitelist),
      onError: (p, err) => this.telemetry.readError(p, err),
      chunk: this.deps.chunk,
      signal: this.abort.signal,
    });
    for await (const chunk of walk) {
      files += chunk.length;
      await this.decideChunk(chunk, kind);
      // A long scan does not hold back the files that settle meanwhile.
      if (kind === 'full') await this.settledDue();
    }
    this.telemetry.scanned(kind, (performance.now() - t0) / 1000, files);
  }

  /** Stats the hinted paths: files are decided, folders listed next round. */
  private async lookAt(rels: readonly string[], _why: 'hint' | 'settle'): Promise<void> {
    const found = await statAll(this.deps.root, rels, (p, err) => this.telemetry.readError(p, err));
    const files = new Set(found.map((f) => f.rel));
    for (const rel of rels) {
      if (files.has(rel)) continue;
      this.settling.forget(rel);
      // A hint that names a folder (created, renamed in): list it.
      if (_why === 'hint' && (await isFolder(`${this.deps.root}/${rel}`)) && mayHoldAdmitted(rel, this.deps.whitelist)) this.folderHints.add(rel);
    }
    await this.decideChunk(found, _why === 'hint' ? 'folder' : 'full');
  }

  /** The settling files whose settle time has passed: looked at again. */
  private async settledDue(): Promise<void> {
    const due = this.settling.due(this.now(), this.deps.settleMs, this.deps.chunk * 4).filter((r) => !this.inFlight.has(r));
    for (let i = 0; i < due.length; i += this.deps.chunk) await this.lookAt(due.slice(i, i + this.deps.chunk), 'settle');
  }

  /** Decides a chunk of observed files against the record of what was sent, and sends the complete ones. */
  private async decideChunk(found: readonly FoundFile[], kind: ScanKind): Promise<void> {
    const files = found.filter((f) => admits(f.rel, this.deps.whitelist, this.deps.exclude));
    if (files.length === 0) return;
    const sent = await this.deps.sent.versions(files.map((f) => f.rel));
    const complete = await this.completeness(files);
    const now = this.now();
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const markers = this.deps.markers;
      const marker = !markers ? 'none' : complete.get(completionFolder(f.rel, markers, this.deps.whitelist) ?? '\0') ? 'complete' : 'incomplete';
      const v = decide({ version: f, sent: sent[i] ?? null, marker }, () => this.settling.observe(f.rel, f, now, this.deps.settleMs));
      this.telemetry.observed(v.kind);
      if (v.kind === 'sent_already' || v.kind === 'waiting_marker') this.settling.forget(f.rel);
      if (v.kind === 'send' && !this.inFlight.has(f.rel)) await this.send(f, v.changed);
      // A marker seen outside a walk of its folder: that folder is complete now, walk it whole.
      if (markers && kind !== 'full' && kind !== 'completed' && marker === 'complete' && isMarker(f.rel, markers, this.deps.whitelist) && v.kind === 'send') {
        this.completedHints.add(completionFolder(f.rel, markers, this.deps.whitelist)!);
      }
    }
  }

  /** For marker sites: which completion folders of these files hold a marker now (looked up once per folder). */
  private async completeness(files: readonly FoundFile[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    const m = this.deps.markers;
    if (!m) return out;
    for (const f of files) {
      const folder = completionFolder(f.rel, m, this.deps.whitelist);
      if (folder === null || out.has(folder)) continue;
      out.set(folder, await hasAnyFile(this.deps.root, folder, m.names));
    }
    return out;
  }

  /** Publishes one version (in the window; confirmed) and then records it; both retried until done or stopped. */
  private async send(f: FoundFile, changed: boolean): Promise<void> {
    if (!(await this.window.room(this.abort.signal))) return;
    this.inFlight.add(f.rel);
    const uploadId = directoryUploadId(this.deps.site, f.rel, f.size, f.mtimeMs);
    const event = createEvent('file.uploaded', uploadId, {
      site: this.deps.site,
      sensor: sensorOf(f.rel),
      path: `${this.deps.root}/${f.rel}`,
      size: f.size,
      mtimeMs: f.mtimeMs,
      ftpTime: null,
      source: 'directory',
      attempt: 1,
      uploadId,
    });
    void this.window.run(async () => {
      try {
        if (!(await this.retrying(() => this.deps.amqp.publish(event)))) return;
        if (!(await this.retrying(() => this.deps.sent.record(f.rel, f)))) return;
        this.settling.forget(f.rel);
        this.telemetry.sent(f.rel, changed, uploadId);
      } finally {
        this.inFlight.delete(f.rel);
      }
    });
  }

  /** Runs `step` until it succeeds (true) or the source stops (false). */
  private async retrying(step: () => Promise<void>): Promise<boolean> {
    const failed = (err: unknown, attempt: number) => {
      const c = classify(err);
      this.telemetry.publishFailed(c.code, attempt, c.message);
    };
    return retry(step, { backoff: PUBLISH_BACKOFF, retryable: () => true, signal: this.abort.signal, onRetry: failed }).then(
      () => true,
      () => false, // only a stop ends the retrying
    );
  }
}

/** Waits between tries of a publish or a record: 200 ms doubling to 5 s. */
const PUBLISH_BACKOFF = { baseMs: 200, maxMs: 5_000 };

/** The set's members, emptying it (hints that arrive meanwhile go to the next round). */
function take(set: Set<string>): string[] {
  const out = [...set];
  set.clear();
  return out;
}
