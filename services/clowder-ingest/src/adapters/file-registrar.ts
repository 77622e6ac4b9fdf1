import type { ClowderClient } from '@terra-transfer/clowder';
import { PermanentError, TransientError } from '@terra-transfer/platform';
import { findRegistered, findReplacements, mapUploaded } from '../core/uploads.js';
import { decide, newest } from '../core/versions.js';
import type { IngestTelemetry } from '../telemetry.js';
import type { Ledger } from './ledger.js';
import { attempt } from './retry.js';

export interface RegistrarOptions {
  windowMs: number;
  maxFiles: number;
  extract: boolean;
  attempts: number;
  retryBaseMs: number;
  /** True once for a dataset created by this process a moment ago (nothing registered in it yet). */
  takeFresh?: (datasetId: string) => boolean;
  /** Like takeFresh, without taking: the look at the ledger before the lock is skipped for such a dataset (nothing there to find). */
  isFresh?: (datasetId: string) => boolean;
}

interface Waiter {
  resolve: (fileId: string) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  waiters: Map<string, Waiter[]>;
  /** The newest version asked for, per path (two versions of a path may meet in one window). */
  versions: Map<string, string>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Registers files by path, one uploadToDataset request per dataset for the
 * files that arrive together: deliveries for the same dataset wait up to
 * `windowMs` (or until `maxFiles`) and go in one multipart request. Each
 * caller's promise resolves once its file id is recorded in Redis.
 *
 * Exactly once per path: recorded paths are skipped; the per-dataset lock
 * serializes registration across workers; paths are written as intents before
 * the request, and an owner that finds intents left over (a crash, or a 504
 * that hid a success) checks listFiles[].filepath before registering again.
 *
 * A path registered with an older version (the file was rewritten in place
 * and sent again) is replaced: the new version is registered, then the old
 * Clowder file deleted, then the ledger updated, under the same lock and with
 * a replacement intent written first (see replace). An older version arriving
 * late, or the same version again, changes nothing.
 */
export class FileRegistrar {
  private readonly pending = new Map<string, Pending>();
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly clowder: ClowderClient,
    private readonly ledger: Ledger,
    private readonly telemetry: IngestTelemetry,
    private readonly opts: RegistrarOptions,
  ) {}

  /** Resolves to the file id recorded for the path: this version's, or a newer one's. `version` is encodeVersion's. */
  register(datasetId: string, path: string, version: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let p = this.pending.get(datasetId);
      if (!p) {
        p = { waiters: new Map(), versions: new Map(), timer: undefined };
        this.pending.set(datasetId, p);
        p.timer = setTimeout(() => this.flush(datasetId), this.opts.windowMs);
      }
      const list = p.waiters.get(path);
      if (list) list.push({ resolve, reject });
      else p.waiters.set(path, [{ resolve, reject }]);
      p.versions.set(path, newest(p.versions.get(path), version) ?? version);
      if (p.waiters.size >= this.opts.maxFiles) this.flush(datasetId);
    });
  }

  /** Sends every waiting batch now and waits for all batches in progress. */
  async drain(): Promise<void> {
    for (const id of [...this.pending.keys()]) this.flush(id);
    await Promise.allSettled([...this.flushing]);
  }

  private flush(datasetId: string): void {
    const p = this.pending.get(datasetId);
    if (!p) return;
    this.pending.delete(datasetId);
    if (p.timer) clearTimeout(p.timer);
    const run = this.registerBatch(datasetId, p.versions).then(
      (outcome) => {
        for (const [path, waiters] of p.waiters) {
          const r = outcome.get(path);
          for (const w of waiters) {
            if (typeof r === 'string') w.resolve(r);
            else w.reject(r ?? new TransientError('NOT_RECORDED', `${path}: no outcome`));
          }
        }
      },
      (err: unknown) => {
        for (const waiters of p.waiters.values()) for (const w of waiters) w.reject(err);
      },
    );
    this.flushing.add(run);
    void run.finally(() => this.flushing.delete(run));
  }

  /** Returns, per path, its file id or the error for that path alone. */
  private async registerBatch(datasetId: string, versions: ReadonlyMap<string, string>): Promise<Map<string, string | Error>> {
    const outcome = new Map<string, string | Error>();
    const paths = [...versions.keys()];
    // Redelivered events: already recorded, nothing to do (no lock needed). Not asked for a dataset this
    // process created a moment ago: the same question is asked under the lock anyway.
    if (!(this.opts.isFresh?.(datasetId) ?? false)) {
      const before = await this.sortOut(datasetId, versions, outcome);
      if (before.fresh.length === 0 && before.stale.size === 0) return outcome;
    }
    const release = await this.ledger.lock(`files:${datasetId}`);
    try {
      const sorted = await this.sortOut(datasetId, versions, outcome);
      if (sorted.fresh.length > 0) await this.registerNew(datasetId, sorted.fresh, versions, outcome);
      if (sorted.stale.size > 0) await this.replace(datasetId, sorted.stale, outcome);
      // Ids recorded by the first-writer-wins rule are the truth; read them back.
      const recorded = await this.ledger.fileIds(datasetId, paths);
      paths.forEach((p, i) => {
        const id = recorded[i];
        if (id && !(outcome.get(p) instanceof Error)) outcome.set(p, id);
      });
      return outcome;
    } finally {
      await release().catch(() => undefined);
    }
  }

  /** Registers paths Clowder has no file for yet (the caller holds the dataset's lock). */
  private async registerNew(datasetId: string, paths: string[], versions: ReadonlyMap<string, string>, outcome: Map<string, string | Error>): Promise<void> {
    let todo = paths;
    const leftover = await this.ledger.intents(datasetId);
    // No record at all for this dataset: it is new (listFiles is empty and cheap) or Redis lost its data, in
    // which case Clowder's listFiles[].filepath is the only memory left (the original's duplicate check).
    const fresh = this.opts.takeFresh?.(datasetId) ?? false;
    const unknownDataset = !fresh && !(await this.ledger.hasFileRecords(datasetId));
    await attempt(this.opts.attempts, this.opts.retryBaseMs, async (n) => {
      // After a failed attempt, or with intents left by someone else, Clowder may have done part of the work.
      if (n > 1 || leftover.length > 0 || (n === 1 && unknownDataset)) {
        const check = [...new Set([...todo, ...leftover])];
        const found = findRegistered(check, await this.clowder.listFiles(datasetId));
        if (found.size) {
          await this.ledger.recordFiles(datasetId, found, versions);
          this.telemetry.reconciled(found.size);
        }
        await this.ledger.clearIntents(datasetId, leftover.filter((p) => !found.has(p)));
        leftover.length = 0;
        for (const [p, id] of found) if (todo.includes(p)) outcome.set(p, id);
        todo = todo.filter((p) => !found.has(p));
        if (todo.length === 0) return;
      }
      await this.ledger.addIntents(datasetId, todo);
      let answer;
      try {
        answer = await this.clowder.registerPaths(datasetId, todo.map((path) => ({ path })), { extract: this.opts.extract });
      } catch (err) {
        if (err instanceof PermanentError && (err as { status?: number }).status === 400) {
          // 400 "No files uploaded": Clowder accepted none (outside its filesystem.sourcepaths).
          await this.ledger.clearIntents(datasetId, todo);
          for (const p of todo) outcome.set(p, new PermanentError('NOT_REGISTERED', `Clowder did not accept ${p} (not under its filesystem.sourcepaths?): ${err.message}`));
          todo = [];
          return;
        }
        throw err;
      }
      let ids = mapUploaded(todo, answer);
      if (!ids) ids = findRegistered(todo, await this.clowder.listFiles(datasetId));
      await this.ledger.recordFiles(datasetId, ids, versions);
      this.telemetry.registered(ids.size, todo.length);
      for (const [p, id] of ids) outcome.set(p, id);
      const skipped = todo.filter((p) => !ids.has(p));
      await this.ledger.clearIntents(datasetId, skipped);
      for (const p of skipped) outcome.set(p, new PermanentError('NOT_REGISTERED', `Clowder silently skipped ${p} (not under its filesystem.sourcepaths?)`));
      todo = [];
    });
  }

  /**
   * Replaces the Clowder file of paths registered with an older version (the
   * caller holds the dataset's lock). Clowder 1.x has no route that updates a
   * file, so: a replacement intent (old id, new version) is written, the path
   * registered again, the old file deleted, then the ledger points at the new
   * one and the intent goes, in one transaction. The old file is deleted only
   * after the new one exists: Clowder deletes a path-registered file's bytes
   * with its last record, and here the new record shares the path. Whoever
   * finds an intent left over (a crash, a lost reply) asks listFiles which
   * record is new before registering again, so nothing is lost or doubled.
   */
  private async replace(datasetId: string, stale: ReadonlyMap<string, { oldId: string; version: string }>, outcome: Map<string, string | Error>): Promise<void> {
    const work = new Map(await this.ledger.replacements(datasetId));
    const leftover = work.size > 0;
    for (const [p, r] of stale) {
      const l = work.get(p);
      // A leftover for the same path: finish it with the newer version (the new record reflects the file on disk now either way).
      work.set(p, l ? { oldId: l.oldId, version: newest(l.version, r.version) ?? r.version } : r);
    }
    await attempt(this.opts.attempts, this.opts.retryBaseMs, async (n) => {
      const done = new Map<string, string>();
      const extra: string[] = [];
      let todo = [...work.keys()];
      const oldIds = () => new Map([...work].map(([p, r]) => [p, r.oldId]));
      if (n > 1 || leftover) {
        for (const [p, ids] of findReplacements(oldIds(), await this.clowder.listFiles(datasetId))) {
          done.set(p, ids[0]!);
          extra.push(...ids.slice(1));
        }
        todo = todo.filter((p) => !done.has(p));
      }
      if (todo.length > 0) {
        await this.ledger.addReplacements(datasetId, new Map(todo.map((p) => [p, work.get(p)!])));
        let answer;
        try {
          answer = await this.clowder.registerPaths(datasetId, todo.map((path) => ({ path })), { extract: this.opts.extract });
        } catch (err) {
          if (err instanceof PermanentError && (err as { status?: number }).status === 400) {
            await this.ledger.clearReplacements(datasetId, todo);
            for (const p of todo) {
              outcome.set(p, new PermanentError('NOT_REGISTERED', `Clowder did not accept the new version of ${p} (not under its filesystem.sourcepaths?): ${err.message}`));
              work.delete(p);
            }
            todo = [];
          } else throw err;
        }
        if (answer) {
          let ids = mapUploaded(todo, answer);
          if (!ids) {
            const found = findReplacements(new Map(todo.map((p) => [p, work.get(p)!.oldId])), await this.clowder.listFiles(datasetId));
            ids = new Map([...found].map(([p, l]) => [p, l[0]!]));
            for (const l of found.values()) extra.push(...l.slice(1));
          }
          for (const [p, id] of ids) done.set(p, id);
          const skipped = todo.filter((p) => !ids.has(p));
          await this.ledger.clearReplacements(datasetId, skipped);
          for (const p of skipped) {
            outcome.set(p, new PermanentError('NOT_REGISTERED', `Clowder silently skipped the new version of ${p} (not under its filesystem.sourcepaths?)`));
            work.delete(p);
          }
        }
      }
      await Promise.all([...[...done.keys()].map((p) => work.get(p)!.oldId), ...extra].map((id) => this.clowder.deleteFile(id)));
      await this.ledger.recordReplaced(datasetId, new Map([...done].map(([p, id]) => [p, { id, version: work.get(p)!.version }])));
      this.telemetry.replaced(done.size);
      for (const [p, id] of done) {
        outcome.set(p, id);
        work.delete(p);
      }
    });
  }

  /**
   * Sorts a batch by what the ledger holds: paths to register, paths to
   * replace (an older version recorded), and paths already done (outcome set).
   */
  private async sortOut(
    datasetId: string,
    versions: ReadonlyMap<string, string>,
    outcome: Map<string, string | Error>,
  ): Promise<{ fresh: string[]; stale: Map<string, { oldId: string; version: string }> }> {
    const paths = [...versions.keys()];
    const [ids, recorded] = await Promise.all([this.ledger.fileIds(datasetId, paths), this.ledger.fileVersions(datasetId, paths)]);
    const fresh: string[] = [];
    const stale = new Map<string, { oldId: string; version: string }>();
    const adopt = new Map<string, string>();
    paths.forEach((p, i) => {
      const id = ids[i];
      const version = versions.get(p)!;
      const d = decide(id, recorded[i], version);
      if (d === 'register') fresh.push(p);
      else if (d === 'replace') stale.set(p, { oldId: id!, version });
      else {
        outcome.set(p, id!);
        if (d === 'adopt') adopt.set(p, version);
      }
    });
    await this.ledger.adoptVersions(datasetId, adopt);
    const done = paths.length - fresh.length - stale.size;
    if (done > 0) this.telemetry.alreadyRegistered(done);
    return { fresh, stale };
  }
}
