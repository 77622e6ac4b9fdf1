import { PermanentError, TransientError } from '@terra-transfer/platform';

/**
 * The original uploader's rule (globus_uploader_service.py): 5xx and
 * connection errors are RETRY, any other non-200 is ERROR. 429 is added as
 * retryable (a rate limit is not a verdict on the request).
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** Clowder answered 5xx, 429, or a 200 `{"status":"error"}` (a failed insert): the same request may succeed later. */
export class ClowderUnavailableError extends TransientError {
  constructor(
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(status === undefined ? 'CLOWDER_UNREACHABLE' : status === 200 ? 'CLOWDER_STATUS_ERROR' : 'CLOWDER_5XX', message, options);
  }
}

const CODES: Record<number, string> = {
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
