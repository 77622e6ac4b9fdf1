import { setTimeout as sleep } from 'node:timers/promises';
import { stat } from 'node:fs/promises';
import { forEachLimit } from '@terra-transfer/platform';
import type { SkippedError, SuccessfulTransfer } from '@terra-transfer/globus';
import { compileFilterRules, type FilterRule } from '../core/filter-rules.js';
import { event, isTerminal, markFailed, markSucceeded, type SimTask } from '../core/task-doc.js';
import { isoTime } from '../core/time.js';
import type { Telemetry } from '../telemetry.js';
import { ByteThrottle, copyOne, FileFault, md5File, prepareDestination, resolveSource, walk } from './copier.js';
import type { Store } from './store.js';

export interface ResolvedEndpoint {
  id: string;
  realRoot: string;
  display_name: string;
}

export interface ExecutorOptions {
  endpoints: Map<string, ResolvedEndpoint>;
  maxActivePerOwner: number;
  retryIntervalMs: number;
  tickMs: number;
  copyConcurrency: number;
  bandwidthBytesPerSec: number;
  now: () => number;
}

interface Job {
  source: string;
  destination: string;
  externalChecksum?: string | null;
}

interface Failure {
  job: Job;
  code: string;
  message: string;
  isDirectory: boolean;
}

/** How often a running task writes its progress to the journal. */
const FLUSH_EVERY_MS = 250;
/** A long task reports a PROGRESS event about once a minute, as Globus does. */
const PROGRESS_EVERY_MS = 60_000;

/**
 * Runs tasks: at most `maxActivePerOwner` per owner at once, the rest wait
 * as "Queued" in submission order; deadlines are checked every tick; a task
 * with faults (missing source, path outside the root, checksum mismatch)
 * retries them every `retryIntervalMs` until it succeeds or expires.
 */
export class Executor {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly throttle: ByteThrottle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly store: Store, private readonly telemetry: Telemetry, private readonly o: ExecutorOptions) {
    this.throttle = o.bandwidthBytesPerSec > 0 ? new ByteThrottle(o.bandwidthBytesPerSec) : undefined;
  }

  /** Resumes unfinished tasks (after a restart) and starts the deadline clock. */
  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.tickMs);
    this.timer.unref();
    this.tick();
  }

  /** Starts queued tasks where an owner has a free slot. */
  kick(): void {
    if (this.closed) return;
    const active = new Map<string, number>();
    for (const id of this.running.keys()) {
      const owner = this.store.tasks.get(id)!.doc.owner_id;
      active.set(owner, (active.get(owner) ?? 0) + 1);
    }
    for (const id of this.store.unfinished) {
      if (this.running.has(id)) continue;
      const task = this.store.tasks.get(id)!;
      const n = active.get(task.doc.owner_id) ?? 0;
      if (n >= this.o.maxActivePerOwner) continue;
      active.set(task.doc.owner_id, n + 1);
      this.launch(task);
    }
  }

  /** POST /task/{id}/cancel. False when the task had already finished. */
  async cancel(task: SimTask): Promise<boolean> {
    if (isTerminal(task.doc)) return false;
    await this.finishFailed(task, 'CANCELED', 'canceled', 'Canceled by the task owner');
    return true;
  }

  private tick(): void {
    const now = this.o.now();
    for (const id of [...this.store.unfinished]) {
      const task = this.store.tasks.get(id)!;
      if (now >= task.deadlineMs) void this.finishFailed(task, 'EXPIRED', 'deadline expired', 'The task deadline expired before it could complete');
    }
    this.kick();
  }

  private async finishFailed(task: SimTask, code: 'CANCELED' | 'EXPIRED', description: string, details: string): Promise<void> {
    if (isTerminal(task.doc)) return;
    const now = this.o.now();
    markFailed(task.doc, code, description, now);
    this.store.addEvents(task, [event(code, description, details, true, now)]);
    this.running.get(task.doc.task_id)?.abort.abort(new Error(code));
    this.telemetry.taskFinished(task.doc.task_id, 'FAILED', code, task.doc.files_transferred, task.doc.bytes_transferred);
    await this.store.saveDoc(task);
    this.kick();
  }

  private launch(task: SimTask): void {
    const abort = new AbortController();
    const id = task.doc.task_id;
    const done = this.run(task, abort.signal)
      .catch((err: unknown) => {
        if (!abort.signal.aborted) this.telemetry.executorError(id, err);
      })
      .finally(() => {
        this.running.delete(id);
        this.kick();
      });
    this.running.set(id, { abort, done });
  }

  private async run(task: SimTask, signal: AbortSignal): Promise<void> {
    const doc = task.doc;
    const src = this.o.endpoints.get(doc.source_endpoint_id);
    const dst = this.o.endpoints.get(doc.destination_endpoint_id);
    if (!src || !dst) throw new Error(`endpoint of task ${doc.task_id} is no longer configured`);
    if (task.startedMs === null) {
      task.startedMs = this.o.now();
      this.store.addEvents(task, [event('STARTED', 'started', 'Starting', false, task.startedMs)]);
      this.telemetry.taskStarted(doc.task_id);
    }
    if (task.expanded) {
      // Resumed after a restart: the journal's successful transfers are the truth (a crash can lose
      // the last counter update); every other file is looked at again and counted again.
      doc.files_transferred = task.successful.length;
      doc.bytes_transferred = task.successful.reduce((n, s) => n + s.size, 0);
      doc.files_skipped = 0;
      doc.subtasks_succeeded = task.successful.length;
      doc.subtasks_pending = Math.max(0, doc.subtasks_total - doc.subtasks_succeeded - doc.subtasks_skipped_errors);
    }
    // The `inactive` fault strikes before any work (or again after a restart while INACTIVE).
    if ((task.inactiveMs ?? 0) > 0 && (!task.expanded || doc.status === 'INACTIVE')) {
      await this.inactive(task, task.inactiveMs!, signal);
      if (signal.aborted || isTerminal(doc)) return;
    }
    doc.nice_status = 'OK';
    doc.nice_status_short_description = 'OK';
    doc.is_ok = true;
    await this.store.saveDoc(task);

    for (;;) {
      const done = new Set<string>([...task.successful.map((s) => s.destination_path ?? ''), ...task.skipped.map((s) => s.destination_path ?? '')]);
      const { jobs, failures, directories, symlinks } = await this.expand(task, src.realRoot);
      if (signal.aborted || isTerminal(doc)) return;
      if (!task.expanded) {
        task.expanded = true;
        doc.files = jobs.length;
        doc.directories = directories;
        doc.symlinks = symlinks;
        doc.subtasks_total = jobs.length + failures.length;
        doc.subtasks_pending = doc.subtasks_total;
      } else if (jobs.length > doc.files) {
        // A missing directory appeared between retries: its files join the task.
        doc.subtasks_total += jobs.length - doc.files;
        doc.subtasks_pending += jobs.length - doc.files;
        doc.files = jobs.length;
      }
      const todo = jobs.filter((j) => !done.has(j.destination));
      failures.push(...(await this.copyAll(task, todo, src.realRoot, dst.realRoot, signal)));
      if (signal.aborted || isTerminal(doc)) return;

      if (failures.length && doc.skip_source_errors) {
        const now = isoTime(this.o.now());
        const skipped: SkippedError[] = failures.map((f) => ({
          DATA_TYPE: 'skipped_error', source_path: f.job.source, destination_path: f.job.destination, error_code: f.code, error_details: f.message,
          error_time: now, is_directory: f.isDirectory, is_symlink: false, is_delete_destination_extra: false, external_checksum: null, checksum_algorithm: null,
        }));
        this.store.addSkipped(task, skipped);
        doc.subtasks_skipped_errors += skipped.length;
        doc.subtasks_pending = Math.max(0, doc.subtasks_pending - skipped.length);
        doc.subtasks_retrying = 0;
        this.store.addEvents(task, [event('SKIPPED_ERRORS', 'skipped errors', `Skipped ${skipped.length} source errors`, false, this.o.now())]);
        failures.length = 0;
      }
      if (failures.length === 0) {
        const now = this.o.now();
        this.updateRate(task);
        this.store.addEvents(task, [
          event('PROGRESS', 'progress', JSON.stringify({ bytes_transferred: doc.bytes_transferred, files_transferred: doc.files_transferred }), false, now),
          event('SUCCEEDED', 'succeeded', `Task succeeded: ${doc.files_transferred} files transferred, ${doc.files_skipped} skipped`, false, now),
        ]);
        markSucceeded(doc, now);
        this.telemetry.taskFinished(doc.task_id, 'SUCCEEDED', null, doc.files_transferred, doc.bytes_transferred);
        await this.store.saveDoc(task);
        return;
      }
      // Faults do not fail the task: it keeps retrying until its deadline (Globus task_behavior).
      const now = this.o.now();
      const first = failures[0]!;
      doc.faults += failures.length;
      doc.is_ok = false;
      doc.nice_status = first.code;
      doc.nice_status_short_description = first.code.replace(/_/g, ' ').toLowerCase();
      doc.nice_status_details = first.message;
      doc.nice_status_expires_in = Math.max(0, Math.round((task.deadlineMs - now) / 1000));
      doc.subtasks_retrying = failures.length;
      this.store.addEvents(task, failures.slice(0, 10).map((f) => event(f.code, f.code.toLowerCase().replace(/_/g, ' '), f.message, true, now)));
      for (const f of failures) this.telemetry.fileFault(doc.task_id, f.code, f.job.source);
      await this.store.saveDoc(task);
      await sleep(Math.min(this.o.retryIntervalMs, Math.max(1, task.deadlineMs - now)), undefined, { signal }).catch(() => undefined);
      if (signal.aborted || isTerminal(doc)) return;
      doc.subtasks_retrying = 0;
    }
  }

  /**
   * INACTIVE for `ms`: the task keeps its slot, its deadline keeps running
   * (the tick expires an INACTIVE task like any other), then it becomes
   * ACTIVE again, as when the expired credential is renewed. (A) The
   * nice_status and event codes are ours; Globus documents the state, not them.
   */
  private async inactive(task: SimTask, ms: number, signal: AbortSignal): Promise<void> {
    const doc = task.doc;
    const now = this.o.now();
    doc.status = 'INACTIVE';
    doc.is_ok = false;
    doc.nice_status = 'CREDENTIAL_EXPIRED';
    doc.nice_status_short_description = 'credential expired';
    doc.nice_status_details = 'The credential for an endpoint of this task expired; the task waits until it is renewed';
    this.store.addEvents(task, [event('CREDENTIAL_EXPIRED', 'credential expired', doc.nice_status_details, true, now)]);
    this.telemetry.taskInactive(doc.task_id, ms);
    await this.store.saveDoc(task);
    await sleep(ms, undefined, { signal }).catch(() => undefined);
    if (signal.aborted || isTerminal(doc)) return;
    doc.status = 'ACTIVE';
    doc.nice_status_details = null;
    this.store.addEvents(task, [event('CREDENTIAL_RENEWED', 'credential renewed', 'The task resumed', false, this.o.now())]);
    await this.store.saveDoc(task);
  }

  /** Lists the files of every item; items whose source is missing or outside the root become failures. */
  private async expand(task: SimTask, srcRoot: string): Promise<{ jobs: Job[]; failures: Failure[]; directories: number; symlinks: number }> {
    const jobs: Job[] = [];
    const failures: Failure[] = [];
    let directories = 0;
    let symlinks = 0;
    const keep = compileFilterRules(task.doc.filter_rules as FilterRule[] | null);
    for (const item of task.items) {
      if (!item.recursive) {
        jobs.push({ source: item.source_path, destination: item.destination_path, externalChecksum: item.external_checksum });
        continue;
      }
      try {
        const real = await resolveSource(srcRoot, item.source_path);
        const s = await stat(real);
        if (!s.isDirectory()) throw new FileFault('NOT_A_DIRECTORY', `Not a directory: ${item.source_path}`);
        const listing = await walk(real, keep);
        directories += 1 + listing.directories;
        symlinks += listing.symlinks;
        const sp = item.source_path.replace(/\/+$/, '');
        const dp = item.destination_path.replace(/\/+$/, '');
        for (const rel of listing.files) jobs.push({ source: `${sp}/${rel}`, destination: `${dp}/${rel}` });
      } catch (err) {
        if (!(err instanceof FileFault)) throw err;
        failures.push({ job: { source: item.source_path, destination: item.destination_path }, code: err.code, message: err.message, isDirectory: true });
      }
    }
    return { jobs, failures, directories, symlinks };
  }

  private async copyAll(task: SimTask, jobs: Job[], srcRoot: string, dstRoot: string, signal: AbortSignal): Promise<Failure[]> {
    const doc = task.doc;
    const failures: Failure[] = [];
    let batch: SuccessfulTransfer[] = [];
    let lastFlush = performance.now();
    const flush = () => {
      if (this.o.now() - this.lastProgress(task) >= PROGRESS_EVERY_MS) {
        this.store.addEvents(task, [event('PROGRESS', 'progress', JSON.stringify({ bytes_transferred: doc.bytes_transferred, files_transferred: doc.files_transferred }), false, this.o.now())]);
      }
      this.store.addSuccessful(task, batch);
      batch = [];
      lastFlush = performance.now();
      this.updateRate(task);
      void this.store.saveDoc(task);
    };
    const checkedDirs = new Map<string, string>();
    await forEachLimit(jobs, this.o.copyConcurrency, async (job) => {
      if (signal.aborted || isTerminal(doc)) return;
      try {
        const r = await this.copyFile(task, job, srcRoot, dstRoot, signal, checkedDirs);
        if (signal.aborted || isTerminal(doc)) return;
        doc.subtasks_pending = Math.max(0, doc.subtasks_pending - 1);
        doc.subtasks_succeeded++;
        if (r === 'skipped') {
          doc.files_skipped++;
          this.telemetry.fileSkipped();
        } else {
          doc.files_transferred++;
          doc.bytes_transferred += r.size;
          if (r.checksum) doc.bytes_checksummed += r.size;
          batch.push(r);
          this.telemetry.fileCopied(r.size);
        }
        if (performance.now() - lastFlush > FLUSH_EVERY_MS) flush();
      } catch (err) {
        if (signal.aborted) return;
        if (!(err instanceof FileFault)) throw err;
        failures.push({ job, code: err.code, message: err.message, isDirectory: false });
      }
    });
    // Concurrent copies finish in any order; report faults in item order.
    const order = new Map(jobs.map((j, i) => [j, i]));
    failures.sort((a, b) => order.get(a.job)! - order.get(b.job)!);
    if (!signal.aborted && !isTerminal(doc)) flush();
    return failures;
  }

  private async copyFile(task: SimTask, job: Job, srcRoot: string, dstRoot: string, signal: AbortSignal, checkedDirs: Map<string, string>): Promise<SuccessfulTransfer | 'skipped'> {
    const doc = task.doc;
    const srcAbs = await resolveSource(srcRoot, job.source);
    const srcStat = await stat(srcAbs);
    if (srcStat.isDirectory()) throw new FileFault('IS_A_DIRECTORY', `Is a directory (set recursive): ${job.source}`);
    if (task.slowMsPerFile > 0) await sleep(task.slowMsPerFile, undefined, { signal });
    const dstAbs = await prepareDestination(dstRoot, job.destination, checkedDirs);
    const wantChecksum = doc.verify_checksum || doc.sync_level === 3 || Boolean(job.externalChecksum);

    if (doc.sync_level !== null) {
      const d = await stat(dstAbs).catch(() => undefined);
      if (d?.isFile()) {
        let same: boolean;
        switch (doc.sync_level) {
          case 0: same = true; break;
          case 1: same = d.size === srcStat.size; break;
          // mtime: transfer only when the source is newer (second precision, as file systems report it).
          case 2: same = Math.floor(srcStat.mtimeMs / 1000) <= Math.floor(d.mtimeMs / 1000); break;
          default: same = d.size === srcStat.size && (await md5File(srcAbs)) === (await md5File(dstAbs));
        }
        if (same) return 'skipped';
      }
    }

    const copied = await copyOne(srcAbs, dstAbs, srcStat.size, { hash: wantChecksum, throttle: this.throttle, preserveTimestamp: doc.preserve_timestamp, signal });
    if (job.externalChecksum && copied.md5 !== job.externalChecksum.toLowerCase()) {
      throw new FileFault('CHECKSUM_MISMATCH', `Checksum of ${job.source} (${copied.md5}) differs from the external checksum ${job.externalChecksum}`);
    }
    if (doc.verify_checksum) {
      // Globus checksums the destination independently and compares.
      const dstMd5 = await md5File(dstAbs, copied.size);
      if (dstMd5 !== copied.md5) throw new FileFault('CHECKSUM_MISMATCH', `Checksum mismatch for ${job.destination}`);
    }
    return {
      DATA_TYPE: 'successful_transfer',
      source_path: job.source,
      destination_path: job.destination,
      size: copied.size,
      checksum: copied.md5,
      checksum_algorithm: copied.md5 ? 'MD5' : null,
      dynamic: false,
    };
  }

  private lastProgress(task: SimTask): number {
    for (let i = task.events.length - 1; i >= 0; i--) {
      const e = task.events[i]!;
      if (e.code === 'PROGRESS' || e.code === 'STARTED') return Date.parse(e.time);
    }
    return task.startedMs ?? this.o.now();
  }

  private updateRate(task: SimTask): void {
    const secs = task.startedMs === null ? 0 : (this.o.now() - task.startedMs) / 1000;
    task.doc.effective_bytes_per_second = secs > 0 ? Math.round(task.doc.bytes_transferred / secs) : 0;
  }

  /** Stops every run (tasks stay ACTIVE in the journal and resume on the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const runs = [...this.running.values()];
    for (const r of runs) r.abort.abort(new Error('shutdown'));
    await Promise.all(runs.map((r) => r.done));
  }
}

