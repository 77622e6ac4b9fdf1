import type { SkippedError, SuccessfulTransfer, Task, TaskEvent } from '@terra-transfer/globus';
import type { NormalizedItem, NormalizedTransfer } from './validate.js';
import { isoTime } from './time.js';

/** What the simulator keeps per task: the public §3 document plus what it needs to run it. */
export interface SimTask {
  doc: Task;
  clientId: string;
  submissionId: string;
  items: NormalizedItem[];
  deadlineMs: number;
  /** Extra delay per file (the `slow` fault). */
  slowMsPerFile: number;
  /**
   * The `inactive` fault: the task goes INACTIVE for this long before it
   * starts work (Globus: "will not continue without intervention; only
   * credential expiration causes this state"), then resumes. 0 = never.
   */
  inactiveMs?: number;
  /** Set when the run first listed its files: counters are not reset on resume. */
  expanded: boolean;
  startedMs: number | null;
  events: TaskEvent[];
  successful: SuccessfulTransfer[];
  skipped: SkippedError[];
}

export interface EndpointInfo {
  id: string;
  display_name: string;
}

/** The task document as Globus shows it right after submission (status ACTIVE, queued). */
export function newTaskDoc(args: {
  taskId: string; owner: string; username: string; t: NormalizedTransfer; src: EndpointInfo; dst: EndpointInfo; nowMs: number; deadlineMs: number;
}): Task {
  const { t } = args;
  return {
    DATA_TYPE: 'task',
    task_id: args.taskId,
    type: 'TRANSFER',
    status: 'ACTIVE',
    label: t.label,
    owner_id: args.owner,
    username: args.username,
    command: 'API 0.10',
    request_time: isoTime(args.nowMs),
    completion_time: null,
    deadline: isoTime(args.deadlineMs),
    source_endpoint: args.src.display_name,
    source_endpoint_id: args.src.id,
    source_endpoint_display_name: args.src.display_name,
    destination_endpoint: args.dst.display_name,
    destination_endpoint_id: args.dst.id,
    destination_endpoint_display_name: args.dst.display_name,
    sync_level: t.sync_level,
    verify_checksum: t.verify_checksum,
    encrypt_data: t.encrypt_data,
    preserve_timestamp: t.preserve_timestamp,
    delete_destination_extra: t.delete_destination_extra,
    skip_source_errors: t.skip_source_errors,
    fail_on_quota_errors: t.fail_on_quota_errors,
    recursive_symlinks: 'ignore',
    filter_rules: (t.filter_rules as Task['filter_rules']) ?? null,
    files: 0,
    directories: 0,
    symlinks: 0,
    files_skipped: 0,
    files_transferred: 0,
    bytes_transferred: 0,
    bytes_checksummed: 0,
    effective_bytes_per_second: 0,
    faults: 0,
    subtasks_total: t.items.length,
    subtasks_pending: t.items.length,
    subtasks_retrying: 0,
    subtasks_succeeded: 0,
    subtasks_failed: 0,
    subtasks_canceled: 0,
    subtasks_expired: 0,
    subtasks_skipped_errors: 0,
    is_ok: true,
    is_paused: false,
    nice_status: 'Queued',
    nice_status_short_description: 'Queued',
    nice_status_details: null,
    nice_status_expires_in: -1,
    fatal_error: null,
    canceled_by_admin: null,
    canceled_by_admin_message: null,
    history_deleted: false,
  };
}

export function event(code: string, description: string, details: string, isError: boolean, nowMs: number): TaskEvent {
  return { DATA_TYPE: 'event', code, description, details, is_error: isError, time: isoTime(nowMs) };
}

/** SUCCEEDED: completion_time set; is_ok and the nice_* fields become null (SDK fixture). */
export function markSucceeded(doc: Task, nowMs: number): void {
  close(doc, 'SUCCEEDED', nowMs);
}

/** What every terminal status shares: completion time set, nothing pending, is_ok and the nice_* fields null. */
function close(doc: Task, status: 'SUCCEEDED' | 'FAILED', nowMs: number): void {
  doc.status = status;
  doc.completion_time = isoTime(nowMs);
  doc.subtasks_pending = 0;
  doc.subtasks_retrying = 0;
  doc.is_ok = null;
  doc.nice_status = null;
  doc.nice_status_short_description = null;
  doc.nice_status_details = null;
  doc.nice_status_expires_in = null;
}

/** FAILED (canceled or expired): fatal_error from the fatal event; pending subtasks become canceled/expired. */
export function markFailed(doc: Task, code: 'CANCELED' | 'EXPIRED', description: string, nowMs: number): void {
  doc.fatal_error = { code, description };
  // Retrying subtasks are a subset of the pending ones.
  const left = doc.subtasks_pending;
  if (code === 'CANCELED') doc.subtasks_canceled += left;
  else doc.subtasks_expired += left;
  close(doc, 'FAILED', nowMs);
}

export const isTerminal = (doc: Task): boolean => doc.status !== 'ACTIVE' && doc.status !== 'INACTIVE';

/** Marker paging over an in-memory list: the marker is the index of the first item. */
export function markerPage<T>(items: T[], markerRaw: string | undefined, pageSize: number): { marker: number; next_marker: number | null; DATA: T[] } | undefined {
  const marker = markerRaw === undefined || markerRaw === '' ? 0 : /^\d+$/.test(markerRaw) ? Number(markerRaw) : NaN;
  if (!Number.isFinite(marker)) return undefined;
  const DATA = items.slice(marker, marker + pageSize);
  const next = marker + pageSize;
  return { marker, next_marker: next < items.length ? next : null, DATA };
}
