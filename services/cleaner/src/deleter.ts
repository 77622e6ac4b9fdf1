import { createEvent, type Message, type MessageType } from '@terra-transfer/contracts';
import type { FileLedger } from '@terra-transfer/ledger';
import { PermanentError } from '@terra-transfer/platform';
import { sensorOf } from '@terra-transfer/site-layout';
import { fileChecksum, localDigest, type CacheFs } from './adapters/cache-fs.js';
import { decideDeletion, type Decision } from './core/deletion.js';
import { deletedEventId, sweepUploadId } from './core/ids.js';
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

type Transferred = Message<'file.transferred'>;

/**
 * Handles one file.transferred. Resolves only when the effect is durable (file
 * unlinked and file.deleted confirmed, or the changed file re-sent and
 * confirmed); throws PermanentError for a refusal (dead-lettered: the decision
 * not to delete is on record there) and anything else for a retry.
 *
 * Order on the delete path: unlink → publish file.deleted → ledger deleted.
 * A crash after the unlink is finished by the redelivery (file gone, ledger
 * still "transferred" → publish + mark); once the ledger says deleted, the
 * publish has happened, so a redelivery is a pure no-op.
 */
export function createDeleter(opts: DeleterOptions, deps: DeleterDeps) {
  const now = deps.now ?? Date.now;
  const { fs, ledger, telemetry } = deps;

  /** Ledger → deleted, only when the record is about this version (the ledger checks): a newer upload at the same path keeps its record. */
  async function markDeleted(e: Transferred['data']): Promise<void> {
    await ledger.markDeleted(e.path, e, e.taskId, e.checksum);
  }

  async function publishDeleted(e: Transferred['data'], bytesFreed: number): Promise<void> {
    await deps.publish(createEvent('file.deleted', deletedEventId(e.path, e.size, e.mtimeMs, e.taskId), {
      site: e.site,
      path: e.path,
      bytesFreed,
      taskId: e.taskId,
      uploadId: e.uploadId,
    }));
  }

  async function resend(e: Transferred['data'], rel: string, size: number, mtimeMs: number): Promise<void> {
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

  return async function handle(event: Transferred): Promise<void> {
    const e = event.data;
    const version = { size: e.size, mtimeMs: e.mtimeMs };
    // Refuse unverified transfers before touching the disk at all.
    if (e.checksum === null || e.checksum === '') {
      refuse('UNVERIFIED_TRANSFER', e.path, 'the transfer carries no verified checksum; the file is kept');
    }
    let ins;
    try {
      ins = await fs.inspect(e.path);
    } catch (err) {
      if (err instanceof PermanentError && err.code === 'UNSAFE_PATH') refuse('UNSAFE_PATH', e.path, err.message);
      throw err;
    }
    const record = await ledger.get(e.path);
    let disk = ins.disk;
    let decision: Decision = decideDeletion({ version, checksum: e.checksum, disk, record, now: now(), settleMs: opts.changedSettleMs });

    if (decision.action === 'delete' && opts.verifyLocalChecksum) {
      const algorithm = e.checksumAlgorithm ?? 'MD5';
      const digest = localDigest(algorithm);
      if (digest === undefined) refuse('CHECKSUM_MISMATCH', e.path, `cannot compute ${algorithm} locally`);
      const local = await fileChecksum(ins.target, digest);
      if (local.toLowerCase() !== e.checksum!.toLowerCase()) {
        // Same size and mtime but other bytes: the cache copy or the transfer is wrong; a human decides.
        refuse('CHECKSUM_MISMATCH', e.path, `local ${algorithm} differs from the checksum Globus verified; the file is kept`);
      }
    }

    if (decision.action === 'delete') {
      const res = await fs.unlinkIfUnchanged(ins.target, version);
      if (res.deleted) {
        const dirs = await fs.removeEmptyParents(ins, opts.whitelist, opts.deleteParentDepth, opts.emptyDirGraceMs, now());
        await publishDeleted(e, e.size);
        await markDeleted(e);
        telemetry.deleted(e.path, e.size, e.taskId, dirs);
        return;
      }
      // Re-uploaded (or removed) between the inspection and the unlink: decide again on what is there now.
      disk = res.disk;
      decision = decideDeletion({ version, checksum: e.checksum, disk, record: await ledger.get(e.path), now: now(), settleMs: opts.changedSettleMs });
      if (decision.action === 'delete') throw new Error('file changed twice while being deleted; retrying');
    }

    switch (decision.action) {
      case 'refuse':
        return refuse(decision.code, e.path, decision.reason);
      case 'finish_gone':
        await publishDeleted(e, 0);
        await markDeleted(e);
        telemetry.finishedGone(e.path, e.taskId);
        return;
      case 'noop':
        telemetry.noop(decision.outcome, e.path, e.taskId);
        return;
      case 'resend': {
        if (disk.kind !== 'file') throw new Error('unreachable: resend without a file');
        return resend(e, ins.rel, disk.size, disk.mtimeMs);
      }
    }
  };
}
