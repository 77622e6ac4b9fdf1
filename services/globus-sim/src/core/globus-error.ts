/**
 * One catalogue of the Globus error answers the simulator gives (reference
 * §4 table). Handlers throw a GlobusHttpError; the transfer plugin renders
 * `{code, message, request_id, resource}` as application/json.
 */
export class GlobusHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GlobusHttpError';
  }
}

export const errors = {
  badRequest: (message: string) => new GlobusHttpError(400, 'ClientError.BadRequest', message),
  noTransferItems: () => new GlobusHttpError(400, 'ClientError.BadRequest.NoTransferItems', 'A transfer requires at least one item'),
  authFailed: (message = 'No valid Authorization header was provided, or the token is expired or invalid') => new GlobusHttpError(401, 'ClientError.AuthenticationFailed', message),
  taskNotFound: (id: string) => new GlobusHttpError(404, 'ClientError.NotFound', `No task found with id '${id}'`),
  endpointNotFound: (id: string) => new GlobusHttpError(404, 'EndpointNotFound', `No such endpoint or collection '${id}'`),
  notFound: (what: string) => new GlobusHttpError(404, 'ClientError.NotFound', what),
  conflictPaths: () => new GlobusHttpError(409, 'Conflict', 'A transfer with identical paths has not yet completed'),
  conflictPending: (max: number) => new GlobusHttpError(409, 'Conflict', `Too many pending tasks: at most ${max} unfinished transfer tasks are allowed per user`),
  consentRequired: (scope: string) =>
    new GlobusHttpError(403, 'ConsentRequired', 'Missing required data_access consent', {
      required_scopes: [scope],
      authorization_parameters: { required_scopes: [scope], session_message: 'Missing required data_access consent' },
    }),
  rateLimited: (retryAfterSec: number) =>
    new GlobusHttpError(429, 'ClientError.TooManyRequests', 'Rate limit exceeded: too many requests', {}, { 'retry-after': String(retryAfterSec) }),
  serviceUnavailable: (retryAfterSec?: number) =>
    new GlobusHttpError(503, 'ServiceUnavailable', 'The service is down for maintenance', {}, retryAfterSec !== undefined ? { 'retry-after': String(retryAfterSec) } : {}),
  internal: () => new GlobusHttpError(500, 'InternalError', 'An internal error occurred'),
  external: () => new GlobusHttpError(502, 'ExternalError.DirListingFailed.GCDisconnected', 'Unable to scan endpoint: the endpoint is not connected'),
};
