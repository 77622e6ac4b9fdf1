import { deletedChunk, ingestedChunk, transferredChunk } from '@terra-transfer/contracts';
import type { AnyEvent } from './events.js';

/**
 * The furthest state a version reached, ranked so events applied in any order
 * (redeliveries, batches) only ever move it forward. `ingested` is not a
 * state: Clowder registration runs beside deletion (see ingested_at).
 */
export const STATES = ['uploaded', 'submitted', 'failed', 'transferred', 'deleted'] as const;
type VersionState = (typeof STATES)[number];
const STATE_RANK: Record<VersionState, number> = { uploaded: 1, submitted: 2, failed: 3, transferred: 4, deleted: 5 };
/** Versions below this rank have not arrived at the destination (the backlog). */
export const TRANSFERRED_RANK = STATE_RANK.transferred;

/** What one batch learnt about one version (site + upload id); null = nothing new. Column names as in file_versions. */
export interface VersionPatch {
  site: string;
  upload_id: string;
  path: string | null;
  sensor: string | null;
  size: number | null;
  mtime_ms: number | null;
  ftp_time: string | null;
  source: string | null;
  attempts: number | null;
  first_seen: string;
  uploaded_at: string | null;
  batch_id: string | null;
  task_id: string | null;
  submitted_at: string | null;
  checksum: string | null;
  checksum_algorithm: string | null;
  destination_path: string | null;
  transferred_at: string | null;
  deleted_at: string | null;
  bytes_freed: number | null;
  clowder_file_id: string | null;
  clowder_dataset_id: string | null;
  ingested_at: string | null;
  failed_at: string | null;
  failure_reason: string | null;
  failures: number;
  state: VersionState;
  state_rank: number;
  state_at: string;
}

/** A give-up, one row of `failures`. */
export interface FailureRow {
  event_id: string;
  site: string;
  upload_id: string;
  path: string;
  sensor: string;
  size: number;
  reason: string;
  detail: string;
  attempts: number;
  last_task_id: string | null;
  failed_at: string;
}

type Facts = Partial<Omit<VersionPatch, 'site' | 'upload_id' | 'first_seen' | 'failures' | 'state' | 'state_rank' | 'state_at'>> & { failures?: number; state?: VersionState };

/** Per version, what each event says (one event may speak of many versions: task.submitted). */
function factsOf(e: AnyEvent): Array<{ site: string; uploadId: string; facts: Facts }> {
  const at = e.time;
  switch (e.type) {
    case 'file.uploaded': {
      const d = e.data;
      return [{ site: d.site, uploadId: d.uploadId, facts: { path: d.path, sensor: d.sensor, size: d.size, mtime_ms: d.mtimeMs, ftp_time: d.ftpTime, source: d.source, attempts: d.attempt, uploaded_at: at, state: 'uploaded' } }];
    }
    case 'task.submitted':
      return e.data.files.map((f) => ({
        site: f.site,
        uploadId: f.uploadId,
        facts: { path: f.path, sensor: f.sensor, size: f.size, mtime_ms: f.mtimeMs, attempts: f.attempt, destination_path: f.destinationPath, batch_id: e.data.batchId, task_id: e.data.taskId, submitted_at: e.data.submittedAt, state: 'submitted' },
      }));
    case 'file.transferred': {
      const { site, taskId, files } = transferredChunk(e);
      return files.map((d) => ({ site, uploadId: d.uploadId, facts: { path: d.path, sensor: d.sensor, size: d.size, mtime_ms: d.mtimeMs, attempts: d.attempt, task_id: taskId, checksum: d.checksum, checksum_algorithm: d.checksumAlgorithm, destination_path: d.destinationPath, transferred_at: at, state: 'transferred' as const } }));
    }
    case 'file.failed': {
      const d = e.data;
      return [{ site: d.site, uploadId: d.uploadId, facts: { path: d.path, sensor: d.sensor, size: d.size, attempts: d.attempts, failed_at: at, failure_reason: d.reason, failures: 1, state: 'failed' } }];
    }
    // A chunk's refusals (`failed`) stay in its event: the file's state is unchanged (still transferred, kept in the cache or not in Clowder) and it is in a dead-letter queue.
    case 'file.deleted': {
      const { site, taskId, files } = deletedChunk(e);
      return files.map((d) => ({ site, uploadId: d.uploadId, facts: { path: d.path, task_id: taskId, deleted_at: at, bytes_freed: d.bytesFreed, state: 'deleted' as const } }));
    }
    case 'file.ingested': {
      const { site, files } = ingestedChunk(e);
      return files.map((d) => ({ site, uploadId: d.uploadId, facts: { sensor: d.sensor, destination_path: d.destinationPath, clowder_file_id: d.fileId, clowder_dataset_id: d.datasetId, ingested_at: at } }));
    }
  }
}

const EARLIEST: ReadonlySet<string> = new Set(['transferred_at', 'uploaded_at', 'submitted_at', 'deleted_at', 'ingested_at']);

/**
 * Folds a batch's new, valid events into one patch per version, in event-time
 * order: later facts win, except the first arrival (and the other "when"
 * columns) which keep the earliest; failures add up; the state only moves
 * forward. The database merges patches with rows by the same rules
 * (adapters/store.ts), so the order batches come in does not matter.
 */
export function foldVersions(events: readonly AnyEvent[]): { versions: VersionPatch[]; failures: FailureRow[] } {
  const sorted = [...events].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const versions = new Map<string, VersionPatch>();
  const failures: FailureRow[] = [];
  for (const e of sorted) {
    if (e.type === 'file.failed') {
      const d = e.data;
      failures.push({ event_id: e.id, site: d.site, upload_id: d.uploadId, path: d.path, sensor: d.sensor, size: d.size, reason: d.reason, detail: d.detail, attempts: d.attempts, last_task_id: d.lastTaskId, failed_at: e.time });
    }
    for (const { site, uploadId, facts } of factsOf(e)) {
      const key = `${site}\u0000${uploadId}`;
      let v = versions.get(key);
      if (!v) {
        v = emptyPatch(site, uploadId, e.time);
        versions.set(key, v);
      }
      apply(v, facts, e.time);
    }
  }
  return { versions: [...versions.values()], failures };
}

function emptyPatch(site: string, uploadId: string, at: string): VersionPatch {
  return {
    site, upload_id: uploadId, path: null, sensor: null, size: null, mtime_ms: null, ftp_time: null, source: null, attempts: null, first_seen: at,
    uploaded_at: null, batch_id: null, task_id: null, submitted_at: null, checksum: null, checksum_algorithm: null, destination_path: null,
    transferred_at: null, deleted_at: null, bytes_freed: null, clowder_file_id: null, clowder_dataset_id: null, ingested_at: null,
    failed_at: null, failure_reason: null, failures: 0, state: 'uploaded', state_rank: 0, state_at: at,
  };
}

function apply(v: VersionPatch, facts: Facts, at: string): void {
  const { state, failures, ...columns } = facts;
  const row = v as unknown as Record<string, unknown>;
  for (const [k, value] of Object.entries(columns)) {
    if (value === null || value === undefined) continue;
    if (EARLIEST.has(k) && row[k] !== null) continue;
    row[k] = value;
  }
  if (failures) v.failures += failures;
  if (state && STATE_RANK[state] > v.state_rank) {
    v.state = state;
    v.state_rank = STATE_RANK[state];
    v.state_at = at;
  }
}
