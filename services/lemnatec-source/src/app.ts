import { createEvent } from '@terra-transfer/contracts';
import { sameVersion, type FileLedger } from '@terra-transfer/ledger';
import { classify, forEachLimit, sleep, type AmqpClient, type Logger, type Registry } from '@terra-transfer/platform';
import { advance, forgetBefore, overlapSince, type SeenRow } from './core/cursor.js';
import { snapshotMetadata, type ImageEntry, type SnapshotRow } from './core/metadata.js';
import { lemnatecUploadId, snapshotFolder, snapshotTimeName } from './core/naming.js';
import { blobFile, exportImage, type ExportResult } from './adapters/export.js';
import { PixelBuffers } from './adapters/pixel-buffers.js';
import { SchemaMismatchError, type Scanalyzer } from './adapters/scanalyzer.js';
import type { Staging, StagedFile } from './adapters/staging.js';
import type { StateStore } from './adapters/state-store.js';
import { lemnatecTelemetry, type LemnatecTelemetry } from './telemetry.js';

export interface LemnatecSourceDeps {
  site: string;
  sensor: string;
  blobRoot: string;
  /** Experiment databases taken; absent: every one LTSystem lists. */
  experiments?: readonly string[] | undefined;
  experimentMetadata: Readonly<Record<string, unknown>>;
  scanalyzer: Scanalyzer;
  store: StateStore;
  staging: Staging;
  ledger: Pick<FileLedger, 'getVersions'>;
  amqp: Pick<AmqpClient, 'publish'>;
  logger: Logger;
  registry: Registry;
  pollMs: number;
  databasesRefreshMs: number;
  overlapMs: number;
  pollLimit: number;
  maxInFlight: number;
  imagesInFlight: number;
  stagingMaxBytes: number;
  blobAttempts: number;
  blobRetryMs: number;
  pngCompression: number;
  cleanIntervalMs: number;
}

type Job = { db: string; id: number };

/**
 * The lemnatec source: an instrument's experiment databases in (read only),
 * confirmed file.uploaded events out, one snapshot folder (one Clowder
 * dataset) per completed snapshot: metadata.json first, then one PNG per
 * image. Where it stands is in Redis (StateStore): a snapshot is taken
 * before the cursor passes it, each file is marked once its event is
 * confirmed, so a restart resumes the snapshots in work and resends only
 * what was not confirmed. Staged files are removed once the ledger says they
 * arrived at the destination.
 */
export class LemnatecSource {
  readonly telemetry: LemnatecTelemetry;
  private databases: string[] = [];
  private checked = new Set<string>();
  private lastListAt = -Infinity;
  private dbUp = false;
  private started = false;
  private readonly queue: Job[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private stopped: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** One raw frame per image in flight at most, used again (no fresh 5 MB per image). */
  private readonly pixelBuffers: PixelBuffers;

  constructor(private readonly d: LemnatecSourceDeps) {
    this.telemetry = lemnatecTelemetry(d.logger, d.registry, d.site);
    this.pixelBuffers = new PixelBuffers(d.maxInFlight * d.imagesInFlight);
  }

  /**
   * Reads the experiment databases and checks each has the columns the
   * source needs (SchemaMismatchError naming them otherwise: a start-up
   * error), counts the staging area, and queues the snapshots left in work.
   */
  async init(): Promise<void> {
    await this.d.staging.measure();
    this.databases = await this.d.scanalyzer.databases(this.d.experiments);
    this.lastListAt = Date.now();
    for (const db of this.databases) {
      await this.d.scanalyzer.checkSchema(db);
      this.checked.add(db);
    }
    this.dbUp = true;
    this.telemetry.databaseUp(true);
    for (const db of this.databases) for (const id of await this.d.store.work(db)) this.enqueue({ db, id });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loops = [this.pollLoop(), this.cleanLoop()];
    this.pump();
  }

  /** True once started and while the instrument's database answers. */
  ready(): boolean {
    return this.started && this.dbUp && !this.abort.signal.aborted;
  }

  /** Snapshots queued or in work now. */
  pending(): number {
    return this.queue.length + this.running.size;
  }

  /** One poll of every database now (tests). */
  async pollOnce(): Promise<void> {
    await this.refreshDatabases();
    for (const db of this.databases) if (this.checked.has(db)) await this.pollDatabase(db);
  }

  /** Waits until nothing is queued or in work. */
  async idle(): Promise<void> {
    while (this.pending() > 0) await Promise.race([...this.running.values(), sleep(50)]);
  }

  /** Stops polling and exporting; the snapshots in work finish their current file (the rest resumes at the next start). Idempotent. */
  stop(drainMs = 10_000): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      this.wake?.();
      await Promise.all(this.loops.map((l) => l.catch(() => undefined)));
      await Promise.race([Promise.all([...this.running.values()].map((p) => p.catch(() => undefined))), sleep(drainMs)]);
    })();
    return this.stopped;
  }

  private async pollLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      // Back-pressure: while the queue is long, the cursor waits instead of memory growing.
      if (this.queue.length < this.d.maxInFlight * 10) {
        try {
          await this.pollOnce();
          if (!this.dbUp) this.telemetry.databaseUp(true);
          this.dbUp = true;
        } catch (err) {
          const c = classify(err);
          this.dbUp = (await this.d.scanalyzer.ping()) && this.dbUp;
          this.telemetry.databaseUp(this.dbUp);
          this.telemetry.pollFailed(null, c.code, c.message);
        }
      }
      await sleep(this.d.pollMs, this.abort.signal);
    }
  }

  /** Reads the list of databases again when due; a new one is checked first (a mismatch is reported and the database skipped, the others go on). */
  private async refreshDatabases(): Promise<void> {
    if (Date.now() - this.lastListAt < this.d.databasesRefreshMs) return;
    this.databases = await this.d.scanalyzer.databases(this.d.experiments);
    this.lastListAt = Date.now();
    for (const db of this.databases) {
      if (this.checked.has(db)) continue;
      try {
        await this.d.scanalyzer.checkSchema(db);
        this.checked.add(db);
        for (const id of await this.d.store.work(db)) this.enqueue({ db, id });
      } catch (err) {
        if (err instanceof SchemaMismatchError) this.telemetry.schemaMismatch(db, err.message);
        else throw err;
      }
    }
  }

  private async pollDatabase(db: string): Promise<void> {
    const { scanalyzer: scan, store } = this.d;
    const c = await store.cursor(db);
    const fresh = await scan.newRows(db, c.maxId, this.d.pollLimit);
    const late = await scan.overlapRows(db, c.maxId, overlapSince(c, this.d.overlapMs));
    const open = await scan.rowsById(db, await store.openIds(db));
    const byId = new Map<number, SeenRow>();
    for (const r of [...fresh, ...late, ...open]) byId.set(r.id, r);
    const completed = [...byId.values()].filter((r) => r.completed).sort((a, b) => a.id - b.id);
    const flags = await store.taken(db, completed.map((r) => r.id));
    const take = completed.filter((_, i) => !flags[i]);
    await store.addOpen(db, fresh.filter((r) => !r.completed).map((r) => r.id));
    // Taken (durably) before the cursor moves past them.
    await store.take(db, take);
    const next = advance(c, fresh);
    if (next.maxId !== c.maxId || next.maxTimeMs !== c.maxTimeMs) await store.saveCursor(db, next);
    await store.forgetTaken(db, forgetBefore(next, this.d.overlapMs));
    for (const r of take) {
      this.telemetry.taken(db, r.id);
      this.enqueue({ db, id: r.id });
    }
  }

  private enqueue(j: Job): void {
    const key = `${j.db}:${j.id}`;
    if (this.queued.has(key) || this.running.has(key)) return;
    this.queued.add(key);
    this.queue.push(j);
    this.pump();
  }

  /** Starts queued snapshots while slots are free and the staging area has room. */
  private pump(): void {
    if (!this.started || this.abort.signal.aborted) return;
    while (this.running.size < this.d.maxInFlight && this.queue.length > 0 && this.d.staging.bytes < this.d.stagingMaxBytes) {
      const j = this.queue.shift()!;
      const key = `${j.db}:${j.id}`;
      this.queued.delete(key);
      const p = this.processSnapshot(j)
        .then(() => true, (err: unknown) => {
          // Redis, the broker or the database failed mid-snapshot: it stays in work and is tried again (what was confirmed is not resent).
          const c = classify(err);
          this.telemetry.pollFailed(j.db, c.code, c.message);
          return false;
        })
        .then(async (done) => {
          this.running.delete(key);
          if (!done) {
            await sleep(this.d.pollMs, this.abort.signal);
            if (!this.abort.signal.aborted) this.enqueue(j);
          }
          this.telemetry.staging(this.d.staging.bytes, this.running.size);
          this.pump();
        });
      this.running.set(key, p);
    }
    this.telemetry.staging(this.d.staging.bytes, this.running.size);
  }

  private async processSnapshot({ db, id }: Job): Promise<void> {
    const t0 = performance.now();
    const { scanalyzer: scan, store, staging } = this.d;
    const snap = await scan.snapshot(db, id);
    if (!snap) {
      // Only a read-only view: a row that vanished cannot be sent; nothing is left to do.
      await store.finish(db, id);
      return;
    }
    const tiles = await scan.tiles(db, id);
    const state = await store.snapshot(db, id);
    if (tiles.length === 0) {
      // A watering-only job: no image, no dataset (as the original: rows without tiles were skipped).
      await store.finish(db, id);
      this.telemetry.published(db, id, '', 0, (performance.now() - t0) / 1000);
      return;
    }
    const md = snapshotMetadata(this.d.experimentMetadata, db, snap, tiles);
    const folder = state.folder ?? (await store.claimFolder(db, id, (n) => snapshotFolder(this.d.sensor, snapshotTimeName(snap.timeStamp), n)));
    if (!state.meta) {
      for (const w of md.warnings) this.telemetry.warning(db, id, w.kind, w.detail);
      const staged = await staging.write(`${folder}/metadata.json`, JSON.stringify(md.content, null, 1));
      await this.publishUploaded(db, id, 'metadata.json', staged);
      await store.markMeta(db, id);
      this.telemetry.sent('metadata');
    }
    const todo = md.images.filter((i) => !state.files.has(i.file));
    await forEachLimit(todo, this.d.imagesInFlight, async (img) => {
      if (this.abort.signal.aborted) throw new Error('stopping');
      const r = await this.exportWithRetry(db, snap, img);
      if (r.ok) {
        const staged = await staging.write(`${folder}/${img.file}`, r.png);
        await this.publishUploaded(db, id, img.file, staged);
        await store.markFile(db, id, img.file, 'sent');
        this.telemetry.sent('image');
      } else {
        await this.publishFailed(db, id, folder, img.file, r);
        await store.markFile(db, id, img.file, 'failed');
        this.telemetry.imageFailed(db, id, img.file, r.code, r.detail);
      }
    });
    await store.finish(db, id);
    this.telemetry.published(db, id, folder, md.images.length, (performance.now() - t0) / 1000);
  }

  /** A missing blob may still be being written: read again after a wait, a few times, before giving up. Other failures are final. */
  private async exportWithRetry(db: string, snap: SnapshotRow, img: ImageEntry): Promise<ExportResult> {
    const file = blobFile(this.d.blobRoot, db, img.tile, snap.timeStamp);
    for (let attempt = 1; ; attempt++) {
      const r = await exportImage(file, img.tile, this.d.pngCompression, this.pixelBuffers);
      if (r.ok || !r.retry || attempt >= this.d.blobAttempts || this.abort.signal.aborted) return r;
      this.telemetry.blobRetry(db, snap.id, img.file, attempt, r.code);
      await sleep(this.d.blobRetryMs, this.abort.signal);
    }
  }

  private async publishUploaded(db: string, id: number, file: string, staged: StagedFile): Promise<void> {
    const uploadId = lemnatecUploadId(this.d.site, db, id, file);
    await this.d.amqp.publish(createEvent('file.uploaded', `file.uploaded:${uploadId}`, {
      site: this.d.site, sensor: this.d.sensor, path: staged.path, size: staged.size, mtimeMs: staged.mtimeMs,
      ftpTime: null, source: 'lemnatec', attempt: 1, uploadId,
    }));
  }

  private async publishFailed(db: string, id: number, folder: string, file: string, r: Extract<ExportResult, { ok: false }>): Promise<void> {
    const uploadId = lemnatecUploadId(this.d.site, db, id, file);
    await this.d.amqp.publish(createEvent('file.failed', `file.failed:${uploadId}`, {
      site: this.d.site, sensor: this.d.sensor, path: this.d.staging.abs(`${folder}/${file}`), size: 0, uploadId,
      attempts: r.retry ? this.d.blobAttempts : 1, reason: r.code, detail: r.detail.slice(0, 4096), lastTaskId: null,
    }));
  }

  private async cleanLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.cleanOnce();
      } catch (err) {
        const c = classify(err);
        this.telemetry.pollFailed(null, c.code, c.message);
      }
      await sleep(this.d.cleanIntervalMs, this.abort.signal);
    }
  }

  /**
   * Removes staged files the ledger says arrived; a snapshot whose files are
   * all gone is forgotten. Runs every CLEAN_INTERVAL_MS over every snapshot
   * still staged (a backlog is many), so per cycle: one Redis round trip for
   * the snapshots' records, one ledger call for all their files, one readdir
   * per snapshot folder, and a stat only for a file the ledger says arrived.
   */
  async cleanOnce(): Promise<void> {
    for (const db of this.databases) {
      const ids = await this.d.store.staged(db, 100);
      const states = await this.d.store.snapshots(db, ids);
      const snaps: Array<{ id: number; folder: string; rels: string[] }> = [];
      for (let i = 0; i < ids.length; i++) {
        const st = states[i]!;
        if (st.folder) snaps.push({ id: ids[i]!, folder: st.folder, rels: ['metadata.json', ...[...st.files].filter(([, s]) => s === 'sent').map(([f]) => f)].map((f) => `${st.folder}/${f}`) });
        else await this.d.store.forget(db, ids[i]!);
      }
      const recs = await this.d.ledger.getVersions(snaps.flatMap((s) => s.rels.map((r) => this.d.staging.abs(r))));
      let at = 0;
      for (const snap of snaps) {
        const present = await this.d.staging.list(snap.folder);
        let left = 0;
        for (const rel of snap.rels) {
          const r = recs[at++];
          if (!present.has(rel.slice(snap.folder.length + 1))) continue;
          if (!r || (r.state !== 'transferred' && r.state !== 'deleted')) {
            left++;
            continue;
          }
          const on = await this.d.staging.stat(rel);
          if (!on) continue;
          if (sameVersion(r, on)) await this.d.staging.remove(rel);
          else left++;
        }
        if (left === 0) {
          await this.d.staging.removeFolder(snap.folder);
          await this.d.store.forget(db, snap.id);
          this.telemetry.cleaned(db, snap.id);
        }
      }
    }
    this.telemetry.staging(this.d.staging.bytes, this.running.size);
    this.pump();
  }
}
