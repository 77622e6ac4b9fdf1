/**
 * The one catalogue of error codes (as fastify's FST_ERR_*): every code a
 * service logs, counts, dead-letters (x-terra-error-code) or returns in an
 * HTTP error body is a key here, with its retry decision and a one-line
 * meaning. The error classes in errors.ts accept only these keys and take the
 * decision from here, so a code cannot be thrown with the wrong decision.
 * Codes are metric label values and dead-letter header values: renaming one
 * breaks dashboards, alerts and `terra dlq --filter`; add, don't rename.
 * docs/errors.md is generated from this file (`make errors-doc`).
 *
 * Upstream codes (Globus's `ClientError.NotFound`, PostgreSQL's SQLSTATE) are
 * not keys: they travel as data (`upstreamCode`) beside one of these.
 */

/** What the runtime does with a failure carrying the code. */
export type RetryDecision =
  /** The same work may succeed later: requeued, counted against the delivery limit. */
  | 'retry'
  /** It never will: dead-lettered (or refused) for an operator; retrying changes nothing. */
  | 'give_up'
  /** The upstream itself is down: the consumer pauses and gives deliveries back uncounted until a probe passes. */
  | 'unavailable';

export interface ErrorSpec {
  readonly decision: RetryDecision;
  /** Who raises it (a package or service). */
  readonly from: string;
  /** One line: what happened and what becomes of the work. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  // Any service (packages/platform)
  UNEXPECTED: { decision: 'retry', from: 'platform', meaning: 'an error no code was given to (a bug or an unforeseen failure): retried, so the delivery limit, not a guess, decides when to give up' },
  CONTRACT: { decision: 'give_up', from: 'platform', meaning: 'a contract error without a code of its own: the message is dead-lettered' },
  NOT_JSON: { decision: 'give_up', from: 'contracts', meaning: 'the message body is not JSON: dead-lettered' },
  NOT_AN_EVENT: { decision: 'give_up', from: 'contracts', meaning: 'the body is JSON but not an event envelope (type, version, data): dead-lettered' },
  UNKNOWN_TYPE: { decision: 'give_up', from: 'contracts', meaning: 'the event type is not in the contract registry: dead-lettered' },
  UNKNOWN_VERSION: { decision: 'give_up', from: 'contracts', meaning: 'the event type is known but not at this version: dead-lettered' },
  SCHEMA_MISMATCH: { decision: 'give_up', from: 'contracts, lemnatec-source', meaning: 'data does not have the shape this release expects (a message against its schema, or the Scanalyzer database against its tables)' },
  PUBLISH_TIMEOUT: { decision: 'retry', from: 'platform', meaning: 'a publish was not confirmed (or the write buffer did not drain) in time' },
  PUBLISH_NACKED: { decision: 'retry', from: 'platform', meaning: 'the broker refused to confirm a publish (nack)' },
  UNROUTABLE: { decision: 'give_up', from: 'platform', meaning: 'no queue is bound for the routing key: the publish was returned (a topology bug)' },
  BROKER_CLOSED: { decision: 'retry', from: 'platform', meaning: 'the AMQP client is closing (shutdown), or the channel closed under a publish' },
  DEAD_LETTER_FAILED: { decision: 'retry', from: 'platform', meaning: 'republishing a message to the dead-letter exchange failed (broker down): the message is requeued instead' },
  GIVE_BACK_FAILED: { decision: 'retry', from: 'platform', meaning: 'giving a delivery back uncounted during an outage failed (broker down or queue full): requeued, which counts' },
  BROKER_UNAVAILABLE: { decision: 'retry', from: 'platform', meaning: 'no connection to the broker within the publish wait' },
  // Node system errors classify() passes through as they are (a fixed set)
  ECONNREFUSED: { decision: 'retry', from: 'node', meaning: 'connection refused' },
  ECONNRESET: { decision: 'retry', from: 'node', meaning: 'connection reset by the peer' },
  ETIMEDOUT: { decision: 'retry', from: 'node', meaning: 'a connection or read timed out' },
  EPIPE: { decision: 'retry', from: 'node', meaning: 'wrote to a connection the peer closed' },
  EAI_AGAIN: { decision: 'retry', from: 'node', meaning: 'DNS lookup failed for now' },
  EHOSTUNREACH: { decision: 'retry', from: 'node', meaning: 'host unreachable' },
  ENETUNREACH: { decision: 'retry', from: 'node', meaning: 'network unreachable' },
  ENOTCONN: { decision: 'retry', from: 'node', meaning: 'socket not connected' },
  EBUSY: { decision: 'retry', from: 'node', meaning: 'resource busy' },
  EMFILE: { decision: 'retry', from: 'node', meaning: 'too many open files in this process' },
  ENFILE: { decision: 'retry', from: 'node', meaning: 'too many open files on the machine' },
  // HTTP error bodies (`{ error, message }`) of every service's API
  BAD_REQUEST: { decision: 'give_up', from: 'platform (HTTP)', meaning: '400: the request does not match its schema, or a parameter is invalid' },
  NOT_FOUND: { decision: 'give_up', from: 'platform (HTTP)', meaning: '404: no such route, batch or task' },
  UNAUTHORIZED: { decision: 'give_up', from: 'platform (HTTP)', meaning: '401: a write endpoint needs a valid bearer token' },
  AUTH_NOT_CONFIGURED: { decision: 'give_up', from: 'platform (HTTP)', meaning: '503: no API token is configured, so write endpoints are disabled' },
  INTERNAL: { decision: 'retry', from: 'platform (HTTP)', meaning: '500: the handler failed; the error is logged' },
  SWEEP_RUNNING: { decision: 'retry', from: 'cleaner (HTTP)', meaning: '409: a sweep is already running; ask again when it ends' },
  NO_SWEEP: { decision: 'give_up', from: 'cleaner (HTTP)', meaning: '404: no sweep has run yet' },
  SITE_NOT_SERVED: { decision: 'give_up', from: 'cleaner (HTTP), batcher', meaning: 'the request names a site this instance does not serve' },
  POSTGRES_UNAVAILABLE: { decision: 'unavailable', from: 'transfer-log', meaning: 'PostgreSQL does not answer (503 from the API; the writer pauses consuming)' },
  // cleaner: refusals to delete (dead-lettered; the file stays in the cache)
  UNVERIFIED_TRANSFER: { decision: 'give_up', from: 'cleaner', meaning: 'file.transferred carries no verified checksum (null): never deleted, never re-sent automatically' },
  UNSAFE_PATH: { decision: 'give_up', from: 'cleaner, batcher', meaning: 'the path is outside the cache root lexically (.., ., empty components) or through a symlinked directory' },
  NOT_A_REGULAR_FILE: { decision: 'give_up', from: 'cleaner', meaning: 'the cache path is a symlink, directory, FIFO or device: never deleted, sent or followed' },
  CHECKSUM_MISMATCH: { decision: 'give_up', from: 'cleaner', meaning: 'VERIFY_LOCAL_CHECKSUM: the local digest differs from the one Globus verified (or this Node cannot compute the algorithm)' },
  CACHE_FILE_MISSING: { decision: 'give_up', from: 'cleaner', meaning: 'a file to re-send is no longer in the cache: kept for an operator (deleting its ledger record clears it)' },
  // cleaner: refusals of POST /files (one per path in the answer)
  OUTSIDE_SITE: { decision: 'give_up', from: 'cleaner', meaning: 'not an absolute path inside the site root (another tree, or . / .. / empty components)' },
  HIDDEN: { decision: 'give_up', from: 'cleaner', meaning: 'a path component is hidden (starts with a dot): never sent, as the log-tailer and the sweep never send it' },
  NOT_WHITELISTED: { decision: 'give_up', from: 'cleaner', meaning: 'not under a whitelisted folder of the site (ignoreWhitelist sends it anyway)' },
  MISSING: { decision: 'give_up', from: 'cleaner', meaning: 'no file at this path' },
  SYMLINK: { decision: 'give_up', from: 'cleaner', meaning: 'the file or one of its folders is a symlink (symlinks are never followed: they may leave the site root)' },
  // batcher
  UNKNOWN_SITE: { decision: 'give_up', from: 'batcher, clowder-ingest', meaning: 'the event names a site this worker does not serve (site file, SITES)' },
  NO_DESTINATION: { decision: 'give_up', from: 'batcher', meaning: 'no destination takes the path: outside the cache root, or no include prefix matches' },
  NOT_IN_BATCH: { decision: 'retry', from: 'batcher', meaning: 'a file got no claim outcome from the batch store' },
  BATCH_MOVED: { decision: 'retry', from: 'batcher', meaning: 'the file is claimed by a batch that has moved on (submitted or gone): handled again' },
  BATCH_EXISTS: { decision: 'retry', from: 'batcher', meaning: 'the batch store refused to create a batch whose id exists already (a fresh id on the retry)' },
  SHUTTING_DOWN: { decision: 'retry', from: 'batcher', meaning: 'gave up waiting (on Globus capacity or a submission) for shutdown: the next instance carries on' },
  WATCHER_REJECTED: { decision: 'give_up', from: 'batcher', meaning: 'the watcher refused a task (4xx)' },
  WATCHER_UNREACHABLE: { decision: 'retry', from: 'batcher', meaning: 'the watcher did not answer, or answered 5xx' },
  // Globus (packages/globus): our bounded codes; Globus's own code is `upstreamCode`
  GLOBUS_NETWORK: { decision: 'retry', from: 'globus', meaning: 'no answer from Globus (connection refused or reset, DNS, timeout)' },
  GLOBUS_RATE_LIMITED: { decision: 'retry', from: 'globus', meaning: '429 from Globus' },
  GLOBUS_CONFLICT: { decision: 'retry', from: 'globus', meaning: '409 from Globus (identical active paths, or the pending-task cap): clears as running tasks finish' },
  GLOBUS_5XX: { decision: 'retry', from: 'globus', meaning: 'a 5xx from Globus that is not an endpoint error (or a 503 that is)' },
  GLOBUS_ENDPOINT_ERROR: { decision: 'give_up', from: 'globus', meaning: 'ExternalError / EndpointError (not 503): the collection is unreachable from Globus; retrying now does not fix it' },
  GLOBUS_REJECTED: { decision: 'give_up', from: 'globus', meaning: 'Globus refused the request (a 4xx other than 409 and 429)' },
  GLOBUS_BAD_RESULT: { decision: 'give_up', from: 'globus', meaning: 'a 200 whose content is not what the API documents (a transfer result code, a token response)' },
  GLOBUS_NOT_JSON: { decision: 'retry', from: 'globus', meaning: 'a response that should be JSON is not (a proxy page)' },
  GLOBUS_AUTH_REJECTED: { decision: 'give_up', from: 'globus', meaning: 'Globus Auth refused the token request (a 4xx: bad client id or secret, consent)' },
  GLOBUS_AUTH_UNAVAILABLE: { decision: 'retry', from: 'globus', meaning: 'Globus Auth answered 429 or 5xx to the token request' },
  // Clowder (packages/clowder)
  CLOWDER_UNREACHABLE: { decision: 'unavailable', from: 'clowder', meaning: 'Clowder does not answer (connection refused or reset, timeout)' },
  CLOWDER_5XX: { decision: 'unavailable', from: 'clowder', meaning: 'Clowder or its proxy answered 502, 503 or 504: an outage, any request would fail' },
  CLOWDER_SERVER_ERROR: { decision: 'retry', from: 'clowder', meaning: 'Clowder answered 500: this request failed inside Clowder; it may succeed later' },
  CLOWDER_RATE_LIMITED: { decision: 'retry', from: 'clowder', meaning: '429 from Clowder' },
  CLOWDER_STATUS_ERROR: { decision: 'retry', from: 'clowder', meaning: 'a 200 with {"status":"error"} (a failed insert)' },
  CLOWDER_BAD_REQUEST: { decision: 'give_up', from: 'clowder', meaning: '400 from Clowder' },
  CLOWDER_UNAUTHORIZED: { decision: 'give_up', from: 'clowder', meaning: '401 from Clowder: the API key is not accepted' },
  CLOWDER_FORBIDDEN: { decision: 'give_up', from: 'clowder', meaning: '403 from Clowder' },
  CLOWDER_NOT_FOUND: { decision: 'give_up', from: 'clowder', meaning: '404 from Clowder' },
  CLOWDER_TOO_LARGE: { decision: 'give_up', from: 'clowder', meaning: '413 from Clowder' },
  CLOWDER_REJECTED: { decision: 'give_up', from: 'clowder', meaning: 'another 4xx from Clowder' },
  CLOWDER_PROTOCOL: { decision: 'give_up', from: 'clowder', meaning: 'the response is not what the API documents (a bug on either side)' },
  // clowder-ingest
  CLOWDER_WRITE_FORBIDDEN: { decision: 'unavailable', from: 'clowder-ingest', meaning: 'Clowder refused a write (403): held like an outage until a probe write is allowed, as every write would fail' },
  CLOWDER_SPACE_UNKNOWN: { decision: 'give_up', from: 'clowder-ingest', meaning: 'the site\'s Clowder space id is not known to Clowder' },
  CLOWDER_NOT_VISIBLE: { decision: 'retry', from: 'clowder-ingest', meaning: 'a collection or dataset was created but is not found by name yet' },
  OUTSIDE_SITE_ROOT: { decision: 'give_up', from: 'clowder-ingest', meaning: 'the destination path is not under the site\'s destination root' },
  PATH_LAYOUT: { decision: 'give_up', from: 'clowder-ingest', meaning: 'the path is not <sensor>/<date>/[<timestamp>/]<file>' },
  METADATA_NOT_ARRIVED: { decision: 'retry', from: 'clowder-ingest', meaning: 'the dataset\'s metadata.json has not arrived: its other files wait for it' },
  METADATA_UNREADABLE: { decision: 'give_up', from: 'clowder-ingest', meaning: 'metadata.json is missing, a directory or not readable' },
  METADATA_READ: { decision: 'retry', from: 'clowder-ingest', meaning: 'reading metadata.json failed otherwise' },
  NOT_REGISTERED: { decision: 'give_up', from: 'clowder-ingest', meaning: 'Clowder did not accept or silently skipped a file (not under its filesystem.sourcepaths?)' },
  NOT_RECORDED: { decision: 'retry', from: 'clowder-ingest', meaning: 'a file got no outcome from the registration batch' },
  REDIS_WRITE: { decision: 'retry', from: 'clowder-ingest', meaning: 'a Redis transaction recording the ledger failed or was aborted' },
  LOCK_TIMEOUT: { decision: 'retry', from: 'clowder-ingest', meaning: 'a creation lock was still held by another worker after the wait' },
  LOCK_LOST: { decision: 'retry', from: 'clowder-ingest', meaning: 'the creation lock expired before the creation: look again' },
  // transfer-log
  WRITER_STOPPED: { decision: 'retry', from: 'transfer-log', meaning: 'the writer thread is not running (stopped for shutdown)' },
  WRITER_THREAD_FAILED: { decision: 'retry', from: 'transfer-log', meaning: 'the writer thread ended unexpectedly' },
  PG_WRITE_FAILED: { decision: 'retry', from: 'transfer-log', meaning: 'a batch write failed while PostgreSQL answers; the SQLSTATE is upstreamCode' },
  // lemnatec-source (an export's outcome per blob)
  BLOB_OUTSIDE_ROOT: { decision: 'give_up', from: 'lemnatec-source', meaning: 'the blob path leaves the blob root' },
  BLOB_MISSING: { decision: 'retry', from: 'lemnatec-source', meaning: 'the blob file is not there (yet)' },
  BLOB_UNREADABLE: { decision: 'retry', from: 'lemnatec-source', meaning: 'the blob file cannot be read' },
  BLOB_SIZE_MISMATCH: { decision: 'give_up', from: 'lemnatec-source', meaning: 'the raw data\'s size fits neither 8-bit nor 16-bit pixels of the image\'s width and height' },
  BLOB_NOT_ZIP: { decision: 'give_up', from: 'lemnatec-source', meaning: 'the blob is not a ZIP archive' },
  BLOB_NO_DATA: { decision: 'give_up', from: 'lemnatec-source', meaning: 'the ZIP has no entry "data"' },
  PNG_ENCODE: { decision: 'give_up', from: 'lemnatec-source', meaning: 'the image could not be encoded as PNG' },
  // log-tailer (a log line dead-lettered)
  PATH_REJECTED: { decision: 'give_up', from: 'log-tailer', meaning: 'the line names a path the site does not send (outside the root, hidden, not whitelisted)' },
  AMBIGUOUS_NAME: { decision: 'give_up', from: 'log-tailer', meaning: 'the line\'s file name matches more than one file: which one is meant cannot be told' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
type CodesWith<D extends RetryDecision> = { [K in ErrorCode]: (typeof ERROR_CODES)[K]['decision'] extends D ? K : never }[ErrorCode];
/** Codes whose work may succeed later. */
export type RetryCode = CodesWith<'retry'>;
/** Codes whose work never will. */
export type GiveUpCode = CodesWith<'give_up'>;
/** Codes that say an upstream is down. */
export type UnavailableCode = CodesWith<'unavailable'>;

/**
 * A set of codes checked against the catalogue: `type MyCodes = Catalogued<'A' | 'B'>` fails to
 * compile if A or B is not a catalogued code (`Extract` would drop a misspelt one silently).
 */
export type Catalogued<T extends ErrorCode> = T;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

export function decisionOf(code: ErrorCode): RetryDecision {
  return ERROR_CODES[code].decision;
}

export function isRetryCode(code: ErrorCode): code is RetryCode {
  return ERROR_CODES[code].decision === 'retry';
}

/** The body of an HTTP error answer (`ErrorBody`); only a catalogued code type-checks. */
export function errorBody(error: ErrorCode, message: string): { error: ErrorCode; message: string } {
  return { error, message };
}
