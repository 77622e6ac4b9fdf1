import { GlobusError, globusCode, isRetryableFailure } from './errors.js';

describe('Globus failures: our bounded code from the status and Globus\'s code', () => {
  it.each([
    [0, 'NETWORK', 'GLOBUS_NETWORK', true],
    [429, 'ClientError.RequestLimitExceeded', 'GLOBUS_RATE_LIMITED', true],
    [409, 'Conflict', 'GLOBUS_CONFLICT', true],
    [500, 'InternalError', 'GLOBUS_5XX', true],
    [503, 'ExternalError.DirListingFailed', 'GLOBUS_5XX', true],
    [502, 'ExternalError.DirListingFailed.GCDisconnected', 'GLOBUS_ENDPOINT_ERROR', false],
    [500, 'EndpointError.Foo', 'GLOBUS_ENDPOINT_ERROR', false],
    [404, 'ClientError.NotFound', 'GLOBUS_REJECTED', false],
    [403, 'ConsentRequired', 'GLOBUS_REJECTED', false],
  ] as const)('%i %s → %s (retryable %s)', (status, upstream, code, retryable) => {
    expect(globusCode(status, upstream)).toBe(code);
    expect(isRetryableFailure(status, upstream)).toBe(retryable);
    const err = new GlobusError({ endpoint: 'task_list', status, code: globusCode(status, upstream), upstreamCode: upstream, message: 'm' });
    expect(err).toMatchObject({ code, upstreamCode: upstream, retryable });
    expect(err.message).toContain(upstream);
  });
});
