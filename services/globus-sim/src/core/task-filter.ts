import type { Task } from '@terra-transfer/globus';
import { errors } from './globus-error.js';
import { parseTime } from './time.js';

export type TaskPredicate = (t: Task) => boolean;

/**
 * Ids one `task_id:` filter may name. The Transfer API documents 50 for the
 * same filter on its endpoint-manager task listing; we apply it to task_list
 * too (the client never sends more: packages/globus `TASK_IDS_PER_FILTER`).
 */
const MAX_TASK_IDS_PER_FILTER = 50;

const TASK_KEYS = new Set([
  'DATA_TYPE', 'task_id', 'type', 'status', 'label', 'owner_id', 'username', 'command', 'request_time', 'completion_time', 'deadline',
  'source_endpoint', 'source_endpoint_id', 'source_endpoint_display_name', 'destination_endpoint', 'destination_endpoint_id',
  'destination_endpoint_display_name', 'sync_level', 'verify_checksum', 'encrypt_data', 'preserve_timestamp', 'delete_destination_extra',
  'skip_source_errors', 'fail_on_quota_errors', 'recursive_symlinks', 'filter_rules', 'files', 'directories', 'symlinks', 'files_skipped',
  'files_transferred', 'bytes_transferred', 'bytes_checksummed', 'effective_bytes_per_second', 'faults', 'subtasks_total', 'subtasks_pending',
  'subtasks_retrying', 'subtasks_succeeded', 'subtasks_failed', 'subtasks_canceled', 'subtasks_expired', 'subtasks_skipped_errors', 'is_ok',
  'is_paused', 'nice_status', 'nice_status_short_description', 'nice_status_details', 'nice_status_expires_in', 'fatal_error',
  'canceled_by_admin', 'canceled_by_admin_message', 'history_deleted',
]);

/**
 * Parses the task_list `filter` syntax, `key:v1,v2/key2:...` (reference §3):
 * task_id, status, type (value lists); label (`~pat` contains, `=exact`,
 * `!x` differs, `!~x` does not contain, plain = exact); request_time and
 * completion_time (`start,end`, either may be empty). Pure.
 */
export function parseTaskFilter(filter: string | undefined): TaskPredicate {
  if (!filter) return () => true;
  const preds: TaskPredicate[] = [];
  for (const part of filter.split('/')) {
    if (part === '') continue;
    const colon = part.indexOf(':');
    if (colon <= 0) throw errors.badRequest(`Invalid filter '${part}': expected key:value`);
    const key = part.slice(0, colon);
    const value = part.slice(colon + 1);
    switch (key) {
      case 'task_id':
      case 'status':
      case 'type': {
        const set = new Set(value.split(',').map((v) => v.trim()).filter(Boolean));
        if (key === 'status') for (const v of set) if (!['ACTIVE', 'INACTIVE', 'SUCCEEDED', 'FAILED'].includes(v)) throw errors.badRequest(`Invalid status filter value '${v}'`);
        if (key === 'type') for (const v of set) if (!['TRANSFER', 'DELETE'].includes(v)) throw errors.badRequest(`Invalid type filter value '${v}'`);
        // (A) The message wording is ours; the status and code are the Transfer API's for a bad filter.
        if (key === 'task_id' && set.size > MAX_TASK_IDS_PER_FILTER) throw errors.badRequest(`Invalid filter: task_id accepts at most ${MAX_TASK_IDS_PER_FILTER} ids, got ${set.size}`);
        preds.push((t) => set.has(String(t[key])));
        break;
      }
      case 'label': {
        const l = (t: Task) => t.label ?? '';
        if (value.startsWith('!~')) { const v = value.slice(2).toLowerCase(); preds.push((t) => !l(t).toLowerCase().includes(v)); }
        else if (value.startsWith('~')) { const v = value.slice(1).toLowerCase(); preds.push((t) => l(t).toLowerCase().includes(v)); }
        else if (value.startsWith('!')) { const v = value.slice(1); preds.push((t) => l(t) !== v); }
        else { const v = value.startsWith('=') ? value.slice(1) : value; preds.push((t) => l(t) === v); }
        break;
      }
      case 'request_time':
      case 'completion_time': {
        const [a = '', b = ''] = value.split(',');
        const start = a.trim() ? parseTime(a) : -Infinity;
        const end = b.trim() ? parseTime(b) : Infinity;
        if (Number.isNaN(start) || Number.isNaN(end)) throw errors.badRequest(`Invalid ${key} filter '${value}'`);
        preds.push((t) => {
          const v = t[key];
          if (v === null) return false;
          const ms = parseTime(v);
          return ms >= start && ms <= end;
        });
        break;
      }
      default:
        throw errors.badRequest(`Invalid filter key '${key}'`);
    }
  }
  return (t) => preds.every((p) => p(t));
}

/** `fields=a,b`: checks the names and returns them (undefined = all fields). */
export function parseFields(fields: string | undefined): string[] | undefined {
  if (!fields) return undefined;
  const out = fields.split(',').map((f) => f.trim()).filter(Boolean);
  for (const f of out) if (!TASK_KEYS.has(f)) throw errors.badRequest(`Invalid field '${f}'`);
  return out;
}

export function project<T extends object>(doc: T, fields: string[] | undefined): Partial<T> {
  if (!fields) return doc;
  const out: Record<string, unknown> = { DATA_TYPE: (doc as Record<string, unknown>)['DATA_TYPE'] };
  for (const f of fields) out[f] = (doc as Record<string, unknown>)[f];
  return out as Partial<T>;
}

/** `orderby=request_time DESC[,label ASC]`; Globus's default order is newest first. */
export function parseOrderBy(orderby: string | undefined): (a: Task, b: Task) => number {
  const specs = (orderby ?? 'request_time DESC').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [field = '', dir = 'ASC'] = s.split(/\s+/);
    if (!TASK_KEYS.has(field)) throw errors.badRequest(`Invalid orderby field '${field}'`);
    const d = dir.toUpperCase();
    if (d !== 'ASC' && d !== 'DESC') throw errors.badRequest(`Invalid orderby direction '${dir}'`);
    return { field, sign: d === 'ASC' ? 1 : -1 };
  });
  return (a, b) => {
    for (const { field, sign } of specs) {
      const x = (a as unknown as Record<string, unknown>)[field];
      const y = (b as unknown as Record<string, unknown>)[field];
      if (x === y) continue;
      if (x === null || x === undefined) return sign;
      if (y === null || y === undefined) return -sign;
      return (x < y ? -1 : 1) * sign;
    }
    return 0;
  };
}

/** limit/offset as Globus bounds them: limit ≤ 1000, offset + limit ≤ 1000. */
export function parsePaging(limitRaw: string | undefined, offsetRaw: string | undefined, dflt: number, max = 1000): { limit: number; offset: number } {
  const int = (raw: string | undefined, name: string, d: number) => {
    if (raw === undefined || raw === '') return d;
    if (!/^\d+$/.test(raw)) throw errors.badRequest(`Invalid ${name} '${raw}'`);
    return Number(raw);
  };
  const limit = int(limitRaw, 'limit', dflt);
  const offset = int(offsetRaw, 'offset', 0);
  if (limit < 1 || limit > max) throw errors.badRequest(`Invalid limit ${limit}: must be between 1 and ${max}`);
  if (offset + limit > max) throw errors.badRequest(`offset + limit must be at most ${max}`);
  return { limit, offset };
}
