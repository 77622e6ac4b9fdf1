/**
 * Errors carry the retry decision. A handler throws a TransientError when the
 * same work may succeed later (broker, Redis, Globus or Clowder unavailable,
 * a 5xx, a timeout) and a PermanentError when it never will (bad input, a 4xx
 * that is not a rate limit). `classify` is the one place that turns an
 * unknown error into that decision; unknown errors count as transient, so the
 * delivery limit, not a guess, decides when to give up on them.
 */

export abstract class TerraError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    /** Stable, low-cardinality code: safe as a metric label. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class TransientError extends TerraError {
  readonly retryable = true;
}

export class PermanentError extends TerraError {
  readonly retryable = false;
}

/**
 * The upstream itself is unavailable (connection refused or reset, a timeout,
 * a 502/503/504 after the client's own retries), not this request: any other
 * request to it would fail the same way. A consumer that gets it pauses and
 * gives its deliveries back uncounted until the upstream answers a probe (see
 * Consumer), instead of spending delivery attempts on an outage. Each client
 * decides which of its failures these are, from status codes and error codes.
 */
export class UpstreamUnavailableError extends TransientError {
  constructor(
    /** Fixed name of the upstream (`clowder`, `globus`): a metric label. */
    readonly upstream: string,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface Classified {
  retryable: boolean;
  code: string;
  message: string;
  /** Set when the error says an upstream is unavailable: its name. */
  unavailable?: string;
}

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'EBUSY', 'EMFILE', 'ENFILE']);

export function classify(err: unknown): Classified {
  if (err instanceof UpstreamUnavailableError) return { retryable: true, code: err.code, message: err.message, unavailable: err.upstream };
  if (err instanceof TerraError) return { retryable: err.retryable, code: err.code, message: err.message };
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; name?: unknown };
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (e.name === 'ContractError') return { retryable: false, code: code ?? 'CONTRACT', message };
    if (code && TRANSIENT_NODE_CODES.has(code)) return { retryable: true, code, message };
    return { retryable: true, code: 'UNEXPECTED', message };
  }
  return { retryable: true, code: 'UNEXPECTED', message: String(err) };
}
