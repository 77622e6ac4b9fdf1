import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { FileUploaded } from './messages/file-uploaded.js';
import { TaskSubmitted } from './messages/task-submitted.js';
import { FileTransferred, FileTransferredV1 } from './messages/file-transferred.js';
import { FileFailed } from './messages/file-failed.js';
import { FileDeleted, FileDeletedV1 } from './messages/file-deleted.js';
import { FileIngested, FileIngestedV1 } from './messages/file-ingested.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** The last value that passed: publishers stamp many events in one millisecond, so most checks repeat it. */
let lastDateTime = '';
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => {
    if (v === lastDateTime) return true;
    if (!ISO.test(v) || Number.isNaN(Date.parse(v))) return false;
    lastDateTime = v;
    return true;
  });
}

/** Every event type the system carries, at its current version. The routing key is the type. */
export const MESSAGES = {
  'file.uploaded': FileUploaded,
  'task.submitted': TaskSubmitted,
  'file.transferred': FileTransferred,
  'file.failed': FileFailed,
  'file.deleted': FileDeleted,
  'file.ingested': FileIngested,
} as const;

/**
 * Older versions consumers still accept, and nothing produces any more: the
 * upgrade window (old producers still running, old messages still queued) and
 * replays of old dead letters. Consumers turn them into the current shape
 * (transferredChunk, deletedChunk, ingestedChunk). Decision 0053.
 */
export const ACCEPTED_OLDER = {
  'file.transferred': [FileTransferredV1],
  'file.deleted': [FileDeletedV1],
  'file.ingested': [FileIngestedV1],
} as const;

export type MessageType = keyof typeof MESSAGES;
type Older<T extends MessageType> = T extends keyof typeof ACCEPTED_OLDER ? Static<(typeof ACCEPTED_OLDER)[T][number]> : never;
/** An event as produced now (createEvent builds only these). */
export type CurrentMessage<T extends MessageType> = Static<(typeof MESSAGES)[T]>;
/** An event as consumed: the current version or an older one still accepted. */
export type Message<T extends MessageType> = CurrentMessage<T> | Older<T>;
/** The data of the current version. */
export type MessageData<T extends MessageType> = CurrentMessage<T>['data'];
export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];

const checks = new Map<string, TypeCheck<TSchema>>(
  [...Object.values(MESSAGES), ...Object.values(ACCEPTED_OLDER).flat()].map((schema) => [schema.$id as string, TypeCompiler.Compile(schema)]),
);

export type ContractErrorCode = 'NOT_JSON' | 'NOT_AN_EVENT' | 'UNKNOWN_TYPE' | 'UNKNOWN_VERSION' | 'SCHEMA_MISMATCH';

/** Why a message body is not a valid event. `code` is a stable label; `detail` is for humans. */
export class ContractError extends Error {
  constructor(
    readonly code: ContractErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'ContractError';
  }
}

export function isMessageType(t: unknown): t is MessageType {
  return typeof t === 'string' && Object.hasOwn(MESSAGES, t);
}

/** Validates a decoded value against the schema of its declared type and version. */
export function validate<T extends MessageType>(expected: T | readonly T[] | undefined, value: unknown): Message<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContractError('NOT_AN_EVENT', 'body is not a JSON object');
  }
  const { type, version } = value as { type?: unknown; version?: unknown };
  if (!isMessageType(type)) throw new ContractError('UNKNOWN_TYPE', `unknown event type ${JSON.stringify(type)?.slice(0, 80)}`);
  const allowed = expected === undefined ? undefined : Array.isArray(expected) ? expected : [expected];
  if (allowed && !allowed.includes(type as T)) throw new ContractError('UNKNOWN_TYPE', `event type ${type} is not consumed here (expects ${allowed.join(', ')})`);
  const check = checks.get(`${type}/v${String(version)}`);
  if (!check) throw new ContractError('UNKNOWN_VERSION', `${type} version ${JSON.stringify(version)?.slice(0, 20)} is not supported (current: ${MESSAGES[type].properties.version.const})`);
  if (!check.Check(value)) {
    const errors = [...check.Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new ContractError('SCHEMA_MISMATCH', errors.join('; '));
  }
  return value as Message<T>;
}

/** Decodes and validates a raw AMQP body. */
export function decode<T extends MessageType>(expected: T | readonly T[] | undefined, body: Buffer | string): Message<T> {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new ContractError('NOT_JSON', (err as Error).message.slice(0, 200));
  }
  return validate(expected, value);
}

/** Builds an event in its envelope and validates it, so nothing invalid is ever published. */
export function createEvent<T extends MessageType>(type: T, id: string, data: MessageData<T>, time?: Date): CurrentMessage<T> {
  const event = { type, version: MESSAGES[type].properties.version.const, id, time: time ? time.toISOString() : isoNow(), data };
  return validate(type, event) as CurrentMessage<T>;
}

let nowMs = -1;
let nowIso = '';

/** The current time as ISO 8601, formatted once per millisecond (events are created many to a millisecond). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== nowMs) {
    nowMs = ms;
    nowIso = new Date(ms).toISOString();
  }
  return nowIso;
}
