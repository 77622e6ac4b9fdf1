import { TerraError } from '@terra-transfer/platform';

/**
 * Every failure of a Globus call. `code` is the Globus code (`ClientError.NotFound`,
 * `ExternalError.DirListingFailed`, ...) or one of ours (`NETWORK`, `AUTH.invalid_client`,
 * `BAD_RESPONSE`): a bounded set, safe as a metric label. Messages carry the
 * Globus message and request id, never a header, token or secret.
 */
export class GlobusError extends TerraError {
  readonly retryable: boolean;
  /** HTTP status, or 0 when no response came back. */
  readonly status: number;
  /** The 9-character Globus request id, when the service gave one (quote it to Globus support). */
  readonly requestId: string | undefined;
  /** Our name of the call (`transfer`, `task_list`, ...). */
  readonly endpoint: string;
  /** The parsed error body (for ConsentRequired: `required_scopes`, `authorization_parameters`). */
  readonly body: Record<string, unknown> | undefined;

  constructor(init: { endpoint: string; status: number; code: string; message: string; requestId?: string | undefined; body?: Record<string, unknown> | undefined; retryable: boolean }) {
    super(init.code, `globus ${init.endpoint}: ${init.status || 'no response'} ${init.code}: ${init.message}${init.requestId ? ` (request_id ${init.requestId})` : ''}`);
    this.retryable = init.retryable;
    this.status = init.status;
    this.requestId = init.requestId;
    this.endpoint = init.endpoint;
    this.body = init.body;
  }

  /** A 404 ClientError.NotFound: the task is unknown (or too old); stop polling it. */
  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** 502 ExternalError / EndpointError: the endpoint is unreachable; not fixed by retrying now. */
  get isEndpointError(): boolean {
    return /ExternalError|EndpointError/.test(this.code);
  }
}

/**
 * Whether a failure may succeed later, for the caller's message handling
 * (the client's own retries are already spent when this is thrown):
 * rate limits, 5xx and network errors, 409 Conflict (identical active paths
 * or the pending-task cap both clear when running tasks finish) are
 * transient; other 4xx and 502 External/EndpointError are permanent.
 */
export function isRetryableFailure(status: number, code: string): boolean {
  if (status === 0) return true;
  if (/ExternalError|EndpointError/.test(code) && status !== 503) return false;
  return status === 409 || status === 429 || status >= 500;
}
