import { errors } from './globus-error.js';
import { checkFilterRules } from './filter-rules.js';
import { parseTime } from './time.js';

export interface NormalizedItem {
  source_path: string;
  destination_path: string;
  recursive: boolean;
  external_checksum: string | null;
  checksum_algorithm: string | null;
}

export interface NormalizedTransfer {
  submission_id: string;
  source_endpoint: string;
  destination_endpoint: string;
  label: string | null;
  sync_level: 0 | 1 | 2 | 3 | null;
  verify_checksum: boolean;
  preserve_timestamp: boolean;
  encrypt_data: boolean;
  deadlineMs: number | null;
  skip_source_errors: boolean;
  fail_on_quota_errors: boolean;
  delete_destination_extra: boolean;
  filter_rules: unknown[] | null;
  items: NormalizedItem[];
}

const SYNC_NAMES: Record<string, 0 | 1 | 2 | 3> = { exists: 0, size: 1, mtime: 2, checksum: 3 };

/**
 * Checks a POST /transfer body the way Globus does and returns the
 * normalized document, or throws the Globus error (status + code).
 * `knownEndpoint` decides EndpointNotFound. Pure: no I/O.
 */
export function validateTransfer(body: unknown, knownEndpoint: (id: string) => boolean, now: number): NormalizedTransfer {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('Request body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b['DATA_TYPE'] !== 'transfer') throw errors.badRequest(`Invalid DATA_TYPE '${String(b['DATA_TYPE'])}', expected 'transfer'`);
  const sid = b['submission_id'];
  if (typeof sid !== 'string' || sid.trim() === '') throw errors.badRequest('A submission_id is required');
  for (const k of ['source_endpoint', 'destination_endpoint'] as const) {
    if (typeof b[k] !== 'string' || b[k] === '') throw errors.badRequest(`'${k}' is required`);
  }
  const src = b['source_endpoint'] as string;
  const dst = b['destination_endpoint'] as string;

  let label: string | null = null;
  if (b['label'] !== undefined && b['label'] !== null) {
    const l = b['label'];
    if (typeof l !== 'string') throw errors.badRequest('label must be a string');
    if (l.length > 128) throw errors.badRequest('Invalid label: at most 128 characters are allowed');
    if (/[\r\n]/.test(l)) throw errors.badRequest('Invalid label: newlines are not allowed');
    if (l !== l.trim()) throw errors.badRequest('Invalid label: leading or trailing whitespace is not allowed');
    label = l;
  }

  let sync: 0 | 1 | 2 | 3 | null = null;
  const s = b['sync_level'];
  if (s !== undefined && s !== null) {
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0 && s <= 3) sync = s as 0 | 1 | 2 | 3;
    else if (typeof s === 'string' && s in SYNC_NAMES) sync = SYNC_NAMES[s]!;
    else throw errors.badRequest(`Invalid sync_level '${String(s)}': must be 0, 1, 2 or 3`);
  }

  const bool = (k: string, dflt: boolean): boolean => {
    const v = b[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') throw errors.badRequest(`'${k}' must be a boolean`);
    return v;
  };

  let deadlineMs: number | null = null;
  if (b['deadline'] !== undefined && b['deadline'] !== null) {
    const d = typeof b['deadline'] === 'string' ? parseTime(b['deadline']) : NaN;
    if (!Number.isFinite(d)) throw errors.badRequest(`Invalid deadline '${String(b['deadline'])}'`);
    if (d <= now) throw errors.badRequest('Invalid deadline: it must be in the future');
    deadlineMs = d;
  }

  const filterRules = b['filter_rules'];
  if (filterRules !== undefined && filterRules !== null && !Array.isArray(filterRules)) throw errors.badRequest('filter_rules must be a list');
  if (Array.isArray(filterRules)) {
    const problem = checkFilterRules(filterRules);
    if (problem) throw errors.badRequest(problem);
  }

  const data = b['DATA'];
  if (data !== undefined && !Array.isArray(data)) throw errors.badRequest('DATA must be a list');
  if (!Array.isArray(data) || data.length === 0) throw errors.noTransferItems();
  const items = data.map((raw, i) => validateItem(raw, i));
  if (Array.isArray(filterRules) && filterRules.length && !items.some((i) => i.recursive)) throw errors.badRequest('filter_rules can only be used with recursive transfer items');

  // Endpoints are looked up after the document is well formed, as the service does.
  if (!knownEndpoint(src)) throw errors.endpointNotFound(src);
  if (!knownEndpoint(dst)) throw errors.endpointNotFound(dst);

  return {
    submission_id: sid,
    source_endpoint: src,
    destination_endpoint: dst,
    label,
    sync_level: sync,
    verify_checksum: bool('verify_checksum', false),
    preserve_timestamp: bool('preserve_timestamp', false),
    encrypt_data: bool('encrypt_data', false),
    deadlineMs,
    skip_source_errors: bool('skip_source_errors', false),
    fail_on_quota_errors: bool('fail_on_quota_errors', false),
    delete_destination_extra: bool('delete_destination_extra', false),
    filter_rules: Array.isArray(filterRules) ? filterRules : null,
    items,
  };
}

function validateItem(raw: unknown, i: number): NormalizedItem {
  if (!raw || typeof raw !== 'object') throw errors.badRequest(`DATA[${i}] must be an object`);
  const it = raw as Record<string, unknown>;
  if (it['DATA_TYPE'] !== 'transfer_item') throw errors.badRequest(`DATA[${i}]: invalid DATA_TYPE '${String(it['DATA_TYPE'])}', expected 'transfer_item'`);
  const recursive = it['recursive'] ?? false;
  if (typeof recursive !== 'boolean') throw errors.badRequest(`DATA[${i}]: 'recursive' must be a boolean`);
  const paths = ['source_path', 'destination_path'].map((k) => {
    const p = it[k];
    if (typeof p !== 'string' || p === '') throw errors.badRequest(`DATA[${i}]: '${k}' is required`);
    if (!p.startsWith('/')) throw errors.badRequest(`DATA[${i}]: '${k}' must be an absolute path: '${p}'`);
    if (p.includes('\0')) throw errors.badRequest(`DATA[${i}]: '${k}' contains a NUL character`);
    if (p.split('/').includes('..')) throw errors.badRequest(`DATA[${i}]: '${k}' must not contain '..': '${p}'`);
    return p;
  }) as [string, string];
  // A file item needs the full destination file path, not its parent directory.
  if (!recursive && paths[1].endsWith('/')) throw errors.badRequest(`DATA[${i}]: a file item needs a full destination file path, not a directory: '${paths[1]}'`);
  const ck = it['external_checksum'];
  const alg = it['checksum_algorithm'];
  if (ck !== undefined && ck !== null && typeof ck !== 'string') throw errors.badRequest(`DATA[${i}]: external_checksum must be a string`);
  if (alg !== undefined && alg !== null && (typeof alg !== 'string' || alg.toUpperCase() !== 'MD5')) {
    throw errors.badRequest(`DATA[${i}]: unsupported checksum_algorithm '${String(alg)}'`);
  }
  return { source_path: paths[0], destination_path: paths[1], recursive, external_checksum: (ck as string | undefined) ?? null, checksum_algorithm: alg ? 'MD5' : null };
}

