import { PermanentError, TransientError, UpstreamUnavailableError, type GiveUpCode } from '@terra-transfer/platform';

/**
 * The original uploader's rule (globus_uploader_service.py): 5xx and
 * connection errors are RETRY, any other non-200 is ERROR. 429 is added as
 * retryable (a rate limit is not a verdict on the request).
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * Statuses that say Clowder itself (or the proxy in front of it) is down or
 * overloaded, whatever the request: a gateway error or "unavailable". A 500
 * is this request failing inside Clowder (a bad id can cause one), 429 a rate
 * limit: both transient, neither an outage.
 */
const OUTAGE_STATUSES = new Set([502, 503, 504]);

/** Clowder is unreachable (connection refused/reset, timeout) or answered 502/503/504: an outage, any request would fail. */
export class ClowderUnavailableError extends UpstreamUnavailableError {
  constructor(
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('clowder', status === undefined ? 'CLOWDER_UNREACHABLE' : 'CLOWDER_5XX', message, options);
  }
}

/**
 * Clowder answered 500, 429, or a 200 `{"status":"error"}` (a failed insert): this request may succeed later.
 * A 500 is CLOWDER_SERVER_ERROR, not CLOWDER_5XX: that code says "outage" (502/503/504) in the catalogue.
 */
export class ClowderServerError extends TransientError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(status === 200 ? 'CLOWDER_STATUS_ERROR' : status === 429 ? 'CLOWDER_RATE_LIMITED' : 'CLOWDER_SERVER_ERROR', message, options);
  }
}

/** The one place a Clowder failure becomes an outage or a failed request: by status (undefined: no answer at all). */
export function unavailableOrFailed(status: number | undefined, message: string, options?: { cause?: unknown }): ClowderUnavailableError | ClowderServerError {
  if (status === undefined || OUTAGE_STATUSES.has(status)) return new ClowderUnavailableError(status, message, options);
  return new ClowderServerError(status, message, options);
}

const CODES: Readonly<Record<number, GiveUpCode>> = {
  400: 'CLOWDER_BAD_REQUEST',
  401: 'CLOWDER_UNAUTHORIZED',
  403: 'CLOWDER_FORBIDDEN',
  404: 'CLOWDER_NOT_FOUND',
  413: 'CLOWDER_TOO_LARGE',
};

/** Clowder refused the request (a 4xx): retrying it unchanged will not help. */
export class ClowderRejectedError extends PermanentError {
  constructor(
    readonly status: number,
    /** Clowder's message, from a JSON object, a JSON string or plain text. */
    readonly detail: string,
    message: string,
  ) {
    super(CODES[status] ?? 'CLOWDER_REJECTED', message);
  }
}

/** The response is not what the API documents (a bug on either side): permanent. */
export class ClowderProtocolError extends PermanentError {
  constructor(message: string) {
    super('CLOWDER_PROTOCOL', message);
  }
}

/**
 * Clowder's error bodies come as JSON objects (`{"status","message"}`), JSON
 * strings (`"Missing parameter [name]"`), plain text (`Not authorized`) or a
 * proxy's HTML page; this extracts one readable line from any of them.
 */
export function errorDetail(body: string): string {
  const text = body.trim();
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const msg = o['message'] ?? o['status'];
      if (typeof msg === 'string') return msg;
    }
  } catch {
    // not JSON
  }
  const title = /<title>([^<]*)<\/title>/i.exec(text);
  if (title) return title[1]!.trim();
  return text.slice(0, 300);
}
