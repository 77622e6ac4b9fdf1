import { createEvent, transferredChunk, type Message, type MessageType, type TransferredFile } from '@terra-transfer/contracts';
import type { FileLedger } from '@terra-transfer/ledger';
import { PermanentError, mapSettled, settleChunk, type DeliveryContext } from '@terra-transfer/platform';
import { sensorOf } from '@terra-transfer/site-layout';
import { fileChecksum, localDigest, type CacheFs } from './adapters/cache-fs.js';
import { decideDeletion, type Decision, type OnDisk } from './core/deletion.js';
import { deletedChunkEventId, deletedEventId, sweepUploadId } from './core/ids.js';
import type { CleanerErrorCode } from './errors.js';
import type { CleanerTelemetry } from './telemetry.js';

export type Publish = <T extends MessageType>(event: Message<T>) => Promise<void>;

export interface DeleterOptions {
  site: string;
  whitelist: readonly string[];
  deleteParentDepth: number;
  emptyDirGraceMs: number;
  changedSettleMs: number;
  verifyLocalChecksum: boolean;
}

export interface DeleterDeps {
  fs: CacheFs;
  ledger: FileLedger;
  publish: Publish;
  telemetry: CleanerTelemetry;
  now?: () => number;
}

type TransferredFileOf = TransferredFile & { site: string; taskId: string };

/** What became of one file of a chunk, when it did not fail. */
type FileOutcome =
  /** Gone from the cache now: the chunk's file.deleted names it, then the ledger records it (gone: found already gone). */
  | { kind: 'deleted'; bytesFreed: number; dirs: string[]; gone: boolean }
  /** Nothing more to record for it (a no-op, or a changed file sent again). */
  | { kind: 'settled' };

/** Files of a chunk handled at once: their inspections share directory walks, their unlinks the disk. */
const FILE_CONCURRENCY = 32;

/**
 * Handles one file.transferred chunk (or a version-1 event: a chunk of one).
 * Each file is decided and unlinked on its own (decideDeletion); then, for the
 * chunk at once: every file refused (or still failing on the delivery the
 * limit would dead-letter) is dead-lettered alone as a one-file chunk, one
 * file.deleted names the files removed and those refused, and the ledger marks
 * the removed ones deleted in one round trip. Resolves only when all of that is
 * durable; throws (the chunk comes back) when a file failed transiently, after
 * recording the others, which are no-ops then.
 *
 * Order per file on the delete path: unlink → file.deleted confirmed → ledger
 * deleted. A crash after the unlink is finished by the redelivery (file gone,
 * ledger still "transferred" → publish + mark); once the ledger says deleted,
 * the publish has happened, so a redelivery is a pure no-op for that file.
 */
export function createDeleter(opts: DeleterOptions, deps: DeleterDeps) {
  const now = deps.now ?? Date.now;
  const { fs, ledger, telemetry } = deps;

  async function resend(e: TransferredFileOf, rel: string, size: number, mtimeMs: number): Promise<void> {
    const uploadId = sweepUploadId(e.path, size, mtimeMs);
    const data = { site: opts.site, sensor: sensorOf(rel), path: e.path, size, mtimeMs, ftpTime: null, source: 'sweep' as const, attempt: 1, uploadId };
    await deps.publish(createEvent('file.uploaded', uploadId, data));
    await ledger.notePending({ path: e.path, size, mtimeMs, uploadId, attempt: 1, site: opts.site, sensor: data.sensor });
    telemetry.resent(e.path, e.taskId, size, mtimeMs);
  }

  function refuse(code: CleanerErrorCode, path: string, reason: string): never {
    telemetry.refused(code, path, reason);
    throw new PermanentError(code, reason);
  }

  /** The deletion rule for what is on disk; the ledger's record is read only when the rule needs it (never for delete or refuse). */
  async function decide(e: TransferredFileOf, disk: OnDisk): Promise<Decision> {
    const input = { version: { size: e.size, mtimeMs: e.mtimeMs }, checksum: e.checksum, disk, now: now(), settleMs: opts.changedSettleMs };
    const first = decideDeletion({ ...input, record: null });
    if (first.action === 'delete' || first.action === 'refuse') return first;
    return decideDeletion({ ...input, record: await ledger.get(e.path) });
  }

  async function handleFile(e: TransferredFileOf): Promise<FileOutcome> {
    const version = { size: e.size, mtimeMs: e.mtimeMs };
    // Refuse unverified transfers before touching the disk at all.
    if (e.checksum === null || e.checksum === '') {
      refuse('UNVERIFIED_TRANSFER', e.path, 'the transfer carries no verified checksum; the file is kept');
    }
    let at;
    try {
      at = await fs.locate(e.path);
    } catch (err) {
      if (err instanceof PermanentError && err.code === 'UNSAFE_PATH') refuse('UNSAFE_PATH', e.path, err.message);
      throw err;
    }
    const deletedNow = async (): Promise<FileOutcome> => {
      const dirs = await fs.removeEmptyParents(at, opts.whitelist, opts.deleteParentDepth, opts.emptyDirGraceMs, now());
      return { kind: 'deleted', bytesFreed: e.size, dirs, gone: false };
    };
    let disk: OnDisk;
    if (at.parentMissing) disk = { kind: 'missing' };
    else if (!opts.verifyLocalChecksum) {
      // The rule deletes a verified transfer whose file on disk is still this version, whatever the ledger
      // says (decideDeletion): so the compare-and-unlink comes first, one lstat and one unlink back to back,
      // and what it found decides the rest when it did not delete.
      const res = await fs.unlinkIfUnchanged(at.target, version);
      if (res.deleted) return deletedNow();
      disk = res.disk;
    } else disk = await fs.stat(at.target);
    let decision = await decide(e, disk);

    if (decision.action === 'delete') {
      // Only with VERIFY_LOCAL_CHECKSUM: the bytes are compared before the unlink.
      const algorithm = e.checksumAlgorithm ?? 'MD5';
      const digest = localDigest(algorithm);
      if (digest === undefined) refuse('CHECKSUM_MISMATCH', e.path, `cannot compute ${algorithm} locally`);
      const local = await fileChecksum(at.target, digest);
      if (local.toLowerCase() !== e.checksum!.toLowerCase()) {
        // Same size and mtime but other bytes: the cache copy or the transfer is wrong; a human decides.
        refuse('CHECKSUM_MISMATCH', e.path, `local ${algorithm} differs from the checksum Globus verified; the file is kept`);
      }
      const res = await fs.unlinkIfUnchanged(at.target, version);
      if (res.deleted) return deletedNow();
      // Re-uploaded (or removed) between the inspection and the unlink: decide again on what is there now.
      disk = res.disk;
      decision = await decide(e, disk);
      if (decision.action === 'delete') throw new Error('file changed twice while being deleted; retrying');
    }

    switch (decision.action) {
      case 'refuse':
        return refuse(decision.code, e.path, decision.reason);
      case 'finish_gone':
        return { kind: 'deleted', bytesFreed: 0, dirs: [], gone: true };
      case 'noop':
        telemetry.noop(decision.outcome, e.path, e.taskId);
        return { kind: 'settled' };
      case 'resend': {
        if (disk.kind !== 'file') throw new Error('unreachable: resend without a file');
        await resend(e, at.rel, disk.size, disk.mtimeMs);
        return { kind: 'settled' };
      }
    }
  }

  return async function handle(event: Message<'file.transferred'>, ctx: Pick<DeliveryContext<'file.transferred'>, 'lastDelivery' | 'deadLetterPart'>): Promise<void> {
    const chunk = transferredChunk(event);
    const { site, taskId } = chunk;
    const files = chunk.files.map((f) => ({ ...f, site, taskId }));
    const settled = settleChunk(files, await mapSettled(files, FILE_CONCURRENCY, handleFile), ctx.lastDelivery);
    // Each file given up is its own dead letter (a one-file chunk an operator can replay), before the outcome names it.
    for (const d of settled.deadLetter) {
      const { site: _s, taskId: _t, ...file } = d.item;
      await ctx.deadLetterPart(createEvent('file.transferred', `${event.id}:${d.item.uploadId}`.slice(0, 512), { site, taskId, chunk: chunk.chunk, files: [file] }), d.code, d.detail);
    }
    const removed = settled.done.flatMap((d) => (d.value.kind === 'deleted' ? [{ file: d.item, ...d.value }] : []));
    const deleted = removed.map((r) => ({ path: r.file.path, bytesFreed: r.bytesFreed, uploadId: r.file.uploadId }));
    const failed = settled.deadLetter.map((d) => ({ path: d.item.path, uploadId: d.item.uploadId, code: d.code, detail: d.detail.slice(0, 1024) }));
    if (deleted.length > 0 || failed.length > 0) {
      const id = deletedChunkEventId([...removed.map((r) => deletedEventId(r.file.path, r.file.size, r.file.mtimeMs, taskId)), ...failed.map((f) => `${f.uploadId}:${f.code}`)]);
      await deps.publish(createEvent('file.deleted', id, { site, taskId, files: deleted, failed }));
    }
    // Ledger → deleted, only where the record is about this version (the ledger checks): a newer upload at the same path keeps its record.
    await ledger.markDeletedMany(removed.map((r) => ({ path: r.file.path, version: r.file, taskId, checksum: r.file.checksum })));
    for (const r of removed) {
      if (r.gone) telemetry.finishedGone(r.file.path, taskId);
      else telemetry.deleted(r.file.path, r.bytesFreed, taskId, r.dirs);
    }
    if (settled.rethrow !== undefined) throw settled.rethrow;
  };
}
