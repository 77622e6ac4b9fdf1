/**
 * Shapes of the Globus Transfer API v0.10 documents this client sends and
 * reads (see /work/shared/reference/globus-transfer-api.md §2–3). Fields the
 * service documents as nullable are typed nullable: strict parsers broke on
 * a null `nice_status` before (DataFed #1467).
 */

export type SyncLevel = 0 | 1 | 2 | 3;

export interface TransferItem {
  DATA_TYPE: 'transfer_item';
  source_path: string;
  destination_path: string;
  recursive?: boolean;
  external_checksum?: string;
  checksum_algorithm?: string;
}

export interface FilterRule {
  DATA_TYPE: 'filter_rule';
  method: 'include' | 'exclude';
  name: string;
  type?: 'file' | 'dir';
}

/** The whole TransferData document. Unset options are omitted, never sent as null (as the SDK does). */
export interface TransferDocument {
  DATA_TYPE: 'transfer';
  submission_id: string;
  source_endpoint: string;
  destination_endpoint: string;
  label?: string;
  sync_level?: SyncLevel;
  verify_checksum?: boolean;
  preserve_timestamp?: boolean;
  encrypt_data?: boolean;
  deadline?: string;
  skip_source_errors?: boolean;
  fail_on_quota_errors?: boolean;
  delete_destination_extra?: boolean;
  notify_on_succeeded?: boolean;
  notify_on_failed?: boolean;
  notify_on_inactive?: boolean;
  source_local_user?: string;
  destination_local_user?: string;
  store_base_path_info?: boolean;
  filter_rules?: FilterRule[];
  DATA: TransferItem[];
}

export type TaskStatus = 'ACTIVE' | 'INACTIVE' | 'SUCCEEDED' | 'FAILED';

export interface Task {
  DATA_TYPE: 'task';
  task_id: string;
  type: 'TRANSFER' | 'DELETE';
  status: TaskStatus;
  label: string | null;
  owner_id: string;
  username: string;
  command: string;
  request_time: string;
  completion_time: string | null;
  deadline: string;
  source_endpoint: string;
  source_endpoint_id: string;
  source_endpoint_display_name: string;
  destination_endpoint: string;
  destination_endpoint_id: string;
  destination_endpoint_display_name: string;
  sync_level: SyncLevel | null;
  verify_checksum: boolean;
  encrypt_data: boolean;
  preserve_timestamp: boolean;
  delete_destination_extra: boolean;
  skip_source_errors: boolean;
  fail_on_quota_errors: boolean;
  recursive_symlinks: string;
  filter_rules: FilterRule[] | null;
  files: number;
  directories: number;
  symlinks: number;
  files_skipped: number;
  files_transferred: number;
  bytes_transferred: number;
  bytes_checksummed: number;
  effective_bytes_per_second: number;
  faults: number;
  subtasks_total: number;
  subtasks_pending: number;
  subtasks_retrying: number;
  subtasks_succeeded: number;
  subtasks_failed: number;
  subtasks_canceled: number;
  subtasks_expired: number;
  subtasks_skipped_errors: number;
  is_ok: boolean | null;
  is_paused: boolean;
  nice_status: string | null;
  nice_status_short_description: string | null;
  nice_status_details: string | null;
  nice_status_expires_in: number | null;
  fatal_error: { code: string; description: string } | null;
  canceled_by_admin: 'SOURCE' | 'DESTINATION' | 'BOTH' | null;
  canceled_by_admin_message: string | null;
  history_deleted: boolean;
}

/** Task-list rows: with `fields=`, only the asked keys are present. */
export type TaskSummary = Partial<Task> & { task_id: string };

export interface SubmitResult {
  code: 'Accepted' | 'Duplicate';
  taskId: string;
  submissionId: string;
  requestId: string;
}

export interface SuccessfulTransfer {
  DATA_TYPE: 'successful_transfer';
  source_path: string | null;
  destination_path: string | null;
  size: number;
  checksum: string | null;
  checksum_algorithm: string | null;
  dynamic: boolean;
}

export interface SkippedError {
  DATA_TYPE: 'skipped_error';
  source_path: string | null;
  destination_path: string | null;
  error_code: string;
  error_details: string;
  error_time: string;
  is_directory: boolean;
  is_symlink: boolean;
  is_delete_destination_extra: boolean;
  external_checksum: string | null;
  checksum_algorithm: string | null;
}

export interface TaskEvent {
  DATA_TYPE: 'event';
  code: string;
  description: string;
  details: string;
  is_error: boolean;
  time: string;
}

export interface EventList {
  DATA_TYPE: 'event_list';
  length: number;
  limit: number;
  offset: number;
  total: number;
  DATA: TaskEvent[];
}

export interface TaskList {
  DATA_TYPE: 'task_list';
  length: number;
  limit: number;
  offset: number;
  total: number;
  DATA: TaskSummary[];
}

export interface MarkerPage<T> {
  DATA_TYPE: string;
  marker: number;
  next_marker: number | null;
  DATA: T[];
}

export interface CancelResult {
  /** `Canceled`, or `TaskComplete` when the task had already finished. */
  code: string;
  message: string;
  requestId: string;
}
