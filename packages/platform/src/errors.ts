/**
 * Errors carry the retry decision. A handler throws a TransientError when the
 * same work may succeed later (broker, Redis, Globus or Clowder unavailable,
 * a 5xx, a timeout) and a PermanentError when it never will (bad input, a 4xx
 * that is not a rate limit). Each class accepts only the catalogued codes of
 * its decision (error-codes.ts), so a code cannot be thrown with the wrong
 * one. `classify` is the one place that turns an unknown error into that
 * decision; unknown errors count as transient, so the delivery limit, not a
 * guess, decides when to give up on them.
 */
import { ERROR_CODES, isErrorCode, type ErrorCode, type GiveUpCode, type RetryCode, type RetryDecision, type UnavailableCode } from './error-codes.js';

export interface TerraErrorOptions {
  cause?: unknown;
  /** The upstream's own code (a SQLSTATE, a Globus code): data for logs, never a label or a decision of ours. */
  upstreamCode?: string;
}

export abstract class TerraError extends Error {
  /** Whether the same work may succeed later: the catalogue's decision for `code`. */
  readonly retryable: boolean;
  readonly upstreamCode: string | undefined;
  constructor(
    /** Catalogued, low-cardinality code: safe as a metric label. */
    readonly code: ErrorCode,
    message: string,
    options?: TerraErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    // The types already refuse these; this catches a cast or a JavaScript caller, at the throw site.
    if (!isErrorCode(code)) throw new TypeError(`${this.name}: ${String(code)} is not in the error catalogue (packages/platform/src/error-codes.ts)`);
    const expected = DECISION_OF_CLASS.get(new.target);
    if (expected !== undefined && ERROR_CODES[code].decision !== expected) throw new TypeError(`${this.name}: ${code} is catalogued as ${ERROR_CODES[code].decision}, not ${expected}`);
    this.retryable = ERROR_CODES[code].decision !== 'give_up';
    this.upstreamCode = options?.upstreamCode;
  }
}

export class TransientError extends TerraError {
  declare readonly code: RetryCode;
  constructor(code: RetryCode, message: string, options?: TerraErrorOptions) {
    super(code, message, options);
  }
}

export class PermanentError extends TerraError {
  declare readonly code: GiveUpCode;
  constructor(code: GiveUpCode, message: string, options?: TerraErrorOptions) {
    super(code, message, options);
  }
}

/**
 * The upstream itself is unavailable (connection refused or reset, a timeout,
 * a 502/503/504 after the client's own retries), not this request: any other
 * request to it would fail the same way. A consumer that gets it pauses and
 * gives its deliveries back uncounted until the upstream answers a probe (see
 * Consumer), instead of spending delivery attempts on an outage. Each client
 * decides which of its failures these are, from status codes and error codes.
 */
export class UpstreamUnavailableError extends TerraError {
  declare readonly code: UnavailableCode;
  constructor(
    /** Fixed name of the upstream (`clowder`, `globus`): a metric label. */
    readonly upstream: string,
    code: UnavailableCode,
    message: string,
    options?: TerraErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** The decision each generic class stands for (GlobusError and the like take theirs from the code). */
const DECISION_OF_CLASS = new Map<abstract new (...args: never[]) => TerraError, RetryDecision>([
  [TransientError, 'retry'],
  [PermanentError, 'give_up'],
  [UpstreamUnavailableError, 'unavailable'],
]);

export interface Classified {
  retryable: boolean;
  code: ErrorCode;
  message: string;
  /** Set when the error says an upstream is unavailable: its name. */
  unavailable?: string;
}

const TRANSIENT_NODE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'EBUSY', 'EMFILE', 'ENFILE']);

export function classify(err: unknown): Classified {
  if (err instanceof UpstreamUnavailableError) return { retryable: true, code: err.code, message: err.message, unavailable: err.upstream };
  if (err instanceof TerraError) return { retryable: err.retryable, code: err.code, message: err.message };
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (e.name === 'ContractError') return { retryable: false, code: isErrorCode(e.code) && ERROR_CODES[e.code].decision === 'give_up' ? e.code : 'CONTRACT', message };
    if (isErrorCode(e.code) && TRANSIENT_NODE_CODES.has(e.code)) return { retryable: true, code: e.code, message };
    return { retryable: true, code: 'UNEXPECTED', message };
  }
  return { retryable: true, code: 'UNEXPECTED', message: String(err) };
}
