import { ERROR_CODES, TerraError, type ErrorCode } from '@terra-transfer/platform';

/** Our codes for Globus failures: a bounded set of catalogue keys (metric labels, dead-letter headers). */
export type GlobusCode = Extract<ErrorCode, `GLOBUS_${string}`>;

/**
 * Every failure of a Globus call. `code` is ours, from the catalogue
 * (GLOBUS_REJECTED, GLOBUS_5XX, ...), and carries the retry decision;
 * `upstreamCode` is Globus's own (`ClientError.NotFound`,
 * `ExternalError.DirListingFailed`, `AUTH.invalid_client`), kept as data for
 * logs, batch reasons and the endpoint-error test. Messages carry the Globus
 * message and request id, never a header, token or secret.
 */
export class GlobusError extends TerraError {
  /** Globus's code (or `HTTP.<status>`, `NETWORK`, `BAD_RESPONSE` when Globus gave none): data, not a label. */
  declare readonly upstreamCode: string;
  /** HTTP status, or 0 when no response came back. */
  readonly status: number;
  /** The 9-character Globus request id, when the service gave one (quote it to Globus support). */
  readonly requestId: string | undefined;
  /** Our name of the call (`transfer`, `task_list`, ...). */
  readonly endpoint: string;
  /** The parsed error body (for ConsentRequired: `required_scopes`, `authorization_parameters`). */
  readonly body: Record<string, unknown> | undefined;

  constructor(init: { endpoint: string; status: number; code: GlobusCode; upstreamCode: string; message: string; requestId?: string | undefined; body?: Record<string, unknown> | undefined }) {
    super(init.code, `globus ${init.endpoint}: ${init.status || 'no response'} ${init.upstreamCode}: ${init.message}${init.requestId ? ` (request_id ${init.requestId})` : ''}`, { upstreamCode: init.upstreamCode });
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
    return isEndpointErrorCode(this.upstreamCode);
  }
}

/**
 * Whether a failure may succeed later, for the caller's message handling
 * (the client's own retries are already spent when this is thrown):
 * rate limits, 5xx and network errors, 409 Conflict (identical active paths
 * or the pending-task cap both clear when running tasks finish) are
 * transient; other 4xx and 502 External/EndpointError are permanent.
 */
export function isRetryableFailure(status: number, upstreamCode: string): boolean {
  return ERROR_CODES[globusCode(status, upstreamCode)].decision !== 'give_up';
}

/** Globus's code names an endpoint/collection failure (a test of the upstream's code, which is data, never of a message). */
function isEndpointErrorCode(upstreamCode: string): boolean {
  return /ExternalError|EndpointError/.test(upstreamCode);
}

/** The one mapping from a failed Transfer API answer (status 0: none) to our catalogued code, hence its retry decision. */
export function globusCode(status: number, upstreamCode: string): GlobusCode {
  if (status === 0) return 'GLOBUS_NETWORK';
  if (isEndpointErrorCode(upstreamCode) && status !== 503) return 'GLOBUS_ENDPOINT_ERROR';
  if (status === 409) return 'GLOBUS_CONFLICT';
  if (status === 429) return 'GLOBUS_RATE_LIMITED';
  if (status >= 500) return 'GLOBUS_5XX';
  return 'GLOBUS_REJECTED';
}
