import type { ClowderClient } from '@terra-transfer/clowder';
import { PermanentError, TransientError } from '@terra-transfer/platform';
import { findRegistered, mapUploaded } from '../core/uploads.js';
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
}

interface Waiter {
  resolve: (fileId: string) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  waiters: Map<string, Waiter[]>;
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

  register(datasetId: string, path: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let p = this.pending.get(datasetId);
      if (!p) {
        p = { waiters: new Map(), timer: undefined };
        this.pending.set(datasetId, p);
        p.timer = setTimeout(() => this.flush(datasetId), this.opts.windowMs);
      }
      const list = p.waiters.get(path);
      if (list) list.push({ resolve, reject });
      else p.waiters.set(path, [{ resolve, reject }]);
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
    const run = this.registerBatch(datasetId, [...p.waiters.keys()]).then(
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
  private async registerBatch(datasetId: string, paths: string[]): Promise<Map<string, string | Error>> {
    const outcome = new Map<string, string | Error>();
    // Redelivered events: already recorded, nothing to do (no lock needed).
    let todo = await this.skipRecorded(datasetId, paths, outcome);
    if (todo.length === 0) return outcome;
    const release = await this.ledger.lock(`files:${datasetId}`);
    try {
      todo = await this.skipRecorded(datasetId, todo, outcome);
      if (todo.length === 0) return outcome;
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
            await this.ledger.recordFiles(datasetId, found);
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
        await this.ledger.recordFiles(datasetId, ids);
        this.telemetry.registered(ids.size, todo.length);
        for (const [p, id] of ids) outcome.set(p, id);
        const skipped = todo.filter((p) => !ids.has(p));
        await this.ledger.clearIntents(datasetId, skipped);
        for (const p of skipped) outcome.set(p, new PermanentError('NOT_REGISTERED', `Clowder silently skipped ${p} (not under its filesystem.sourcepaths?)`));
        todo = [];
      });
      // Ids recorded by the first-writer-wins rule are the truth; read them back.
      const recorded = await this.ledger.fileIds(datasetId, paths);
      paths.forEach((p, i) => {
        const id = recorded[i];
        if (id) outcome.set(p, id);
      });
      return outcome;
    } finally {
      await release().catch(() => undefined);
    }
  }

  private async skipRecorded(datasetId: string, paths: string[], outcome: Map<string, string | Error>): Promise<string[]> {
    const ids = await this.ledger.fileIds(datasetId, paths);
    const todo: string[] = [];
    paths.forEach((p, i) => {
      const id = ids[i];
      if (id) outcome.set(p, id);
      else todo.push(p);
    });
    if (todo.length < paths.length) this.telemetry.alreadyRegistered(paths.length - todo.length);
    return todo;
  }
}
