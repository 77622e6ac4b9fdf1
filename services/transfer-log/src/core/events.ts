import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { ContractError, isMessageType, validate, type Message, type MessageType } from '@terra-transfer/contracts';

/**
 * What became of a delivery (closed set: a metric label).
 * - `valid`: matches its contract; applied to the per-file timelines.
 * - anything else: stored raw (body as JSON when PostgreSQL can hold it, else as bytes) and counted, never applied.
 */
export type EventStatus =
  | 'valid'
  /** A type no contract of this build knows (a newer publisher's). */
  | 'unknown_type'
  /** A known type at a version this build does not know (a newer publisher's). */
  | 'unknown_version'
  | 'schema_mismatch'
  | 'not_json'
  | 'not_an_event'
  /** Not valid UTF-8, or text PostgreSQL cannot store (NUL, a lone surrogate). */
  | 'not_storable';

export type AnyEvent = { [T in MessageType]: Message<T> }[MessageType];

/** One row of the raw log, ready to write. */
export interface RecordedEvent {
  eventId: string;
  time: Date;
  type: string;
  version: number | null;
  status: EventStatus;
  site: string | null;
  path: string | null;
  uploadId: string | null;
  taskId: string | null;
  /** The body as JSON text PostgreSQL's jsonb accepts, or null (then `raw` holds it). */
  json: string | null;
  raw: Buffer | null;
  /** Set when status is valid. */
  event: AnyEvent | undefined;
}

export interface Delivery {
  body: Buffer;
  routingKey: string;
  messageId: string | undefined;
  /** Publisher timestamp, unix seconds. */
  timestamp: number | undefined;
}

/** jsonb refuses NUL and unpaired surrogates; JSON.stringify writes exactly those as \u escapes. */
const UNSTORABLE = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;
/** PostgreSQL timestamptz holds years 4713 BC to 294276 AD; keep to plain four-digit years. */
const MIN_TIME = Date.UTC(1, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31);

const CONTRACT_STATUS: Record<ContractError['code'], EventStatus> = {
  NOT_JSON: 'not_json',
  NOT_AN_EVENT: 'not_an_event',
  UNKNOWN_TYPE: 'unknown_type',
  UNKNOWN_VERSION: 'unknown_version',
  SCHEMA_MISMATCH: 'schema_mismatch',
};

/**
 * Turns a delivery into a row of the raw log. Never throws: whatever came is
 * recorded with a status. The id is the event's own (a redelivery keeps it),
 * else the message id, else a hash of the body, so a redelivery of anything
 * lands on the same row.
 */
export function recordDelivery(d: Delivery): RecordedEvent {
  const fallbackTime = d.timestamp !== undefined && Number.isFinite(d.timestamp) ? new Date(d.timestamp * 1000) : new Date(0);
  const hashId = () => `sha256:${createHash('sha256').update(d.body).digest('hex')}`;
  const base = (status: EventStatus, value?: Record<string, unknown>): RecordedEvent => {
    const id = typeof value?.id === 'string' && value.id.length > 0 && value.id.length <= 512 ? value.id : (d.messageId && d.messageId.length <= 512 ? d.messageId : hashId());
    const t = typeof value?.time === 'string' ? Date.parse(value.time) : NaN;
    return {
      eventId: id,
      time: Number.isFinite(t) && t >= MIN_TIME && t <= MAX_TIME ? new Date(t) : clampTime(fallbackTime),
      type: typeof value?.type === 'string' ? value.type.slice(0, 128) : d.routingKey.slice(0, 128) || 'unknown',
      version: typeof value?.version === 'number' && Number.isInteger(value.version) && Math.abs(value.version) < 2 ** 31 ? value.version : null,
      status,
      site: null,
      path: null,
      uploadId: null,
      taskId: null,
      json: null,
      raw: null,
      event: undefined,
    };
  };

  if (!isUtf8(d.body)) return { ...base('not_storable'), eventId: d.messageId && d.messageId.length <= 512 ? d.messageId : hashId(), raw: d.body };
  const text = d.body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ...base('not_json'), raw: d.body };
  }
  const json = JSON.stringify(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return UNSTORABLE.test(json) ? { ...base('not_an_event'), raw: d.body } : { ...base('not_an_event'), json };
  }
  const obj = value as Record<string, unknown>;
  // Ids and types with text PostgreSQL refuses would fail the whole batch: keep such events as bytes.
  if (UNSTORABLE.test(json)) {
    const r = base('not_storable', obj);
    // eslint-disable-next-line no-control-regex -- NUL cannot be stored in a PostgreSQL text column
    return { ...r, eventId: hashIfUnsafe(r.eventId, hashId), type: r.type.replace(/[\u0000\ud800-\udfff]/g, '?'), raw: d.body };
  }
  let status: EventStatus = 'valid';
  let event: AnyEvent | undefined;
  try {
    event = validate(undefined, obj) as AnyEvent;
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    status = CONTRACT_STATUS[err.code];
  }
  const r = { ...base(status, obj), json };
  if (!event) return r;
  return { ...r, event, ...keysOf(event) };
}

function hashIfUnsafe(id: string, hash: () => string): string {
  // eslint-disable-next-line no-control-regex -- NUL cannot be stored in a PostgreSQL text column
  return /[\u0000\ud800-\udfff]/.test(id) ? hash() : id;
}

function clampTime(t: Date): Date {
  const ms = t.getTime();
  return ms >= MIN_TIME && ms <= MAX_TIME ? t : new Date(0);
}

/** The columns an event is found by. task.submitted is about many files: found by its task. */
function keysOf(e: AnyEvent): Pick<RecordedEvent, 'site' | 'path' | 'uploadId' | 'taskId'> {
  switch (e.type) {
    case 'file.uploaded':
      return { site: e.data.site, path: e.data.path, uploadId: e.data.uploadId, taskId: null };
    case 'task.submitted':
      return { site: e.data.files[0]?.site ?? null, path: null, uploadId: null, taskId: e.data.taskId };
    case 'file.failed':
      return { site: e.data.site, path: e.data.path, uploadId: e.data.uploadId, taskId: e.data.lastTaskId };
    // Chunks (version 2, decision 0053) are about many files: found by their task, like task.submitted; version 1 by its file.
    case 'file.transferred':
      return e.version === 1 ? { site: e.data.site, path: e.data.path, uploadId: e.data.uploadId, taskId: e.data.taskId } : { site: e.data.site, path: null, uploadId: null, taskId: e.data.taskId };
    case 'file.deleted':
      return e.version === 1 ? { site: e.data.site, path: e.data.path, uploadId: e.data.uploadId, taskId: e.data.taskId } : { site: e.data.site, path: null, uploadId: null, taskId: e.data.taskId };
    case 'file.ingested':
      return e.version === 1 ? { site: e.data.site, path: null, uploadId: e.data.uploadId, taskId: null } : { site: e.data.site, path: null, uploadId: null, taskId: e.data.taskId };
  }
}

/** A metric label for an event type: known types by name, anything else `other` (labels stay bounded). */
export function typeLabel(type: string): string {
  return isMessageType(type) ? type : 'other';
}
