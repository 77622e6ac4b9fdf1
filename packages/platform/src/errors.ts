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

export interface Classified {
  retryable: boolean;
  code: string;
  message: string;
}

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTCONN', 'EBUSY', 'EMFILE', 'ENFILE']);

export function classify(err: unknown): Classified {
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
