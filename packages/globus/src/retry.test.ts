import { backoffMs, decideRetry, SDK_RETRY_POLICY } from './retry.js';

describe('decideRetry (the SDK retry policy)', () => {
  it('retries network errors with jittered exponential backoff capped at 10 s', () => {
    expect(decideRetry({ status: 0 }, 0, SDK_RETRY_POLICY, 0)).toEqual({ retry: true, delayMs: 250 });
    expect(decideRetry({ status: 0 }, 0, SDK_RETRY_POLICY, 1)).toEqual({ retry: true, delayMs: 750 });
    expect(decideRetry({ status: 0 }, 3, SDK_RETRY_POLICY, 0.5)).toEqual({ retry: true, delayMs: 4000 });
    expect(decideRetry({ status: 0 }, 4, SDK_RETRY_POLICY, 1)).toEqual({ retry: true, delayMs: 10_000 });
    expect(backoffMs(20, SDK_RETRY_POLICY, 0)).toBe(10_000);
  });

  it('sleeps exactly an integer Retry-After on 429 and 503', () => {
    expect(decideRetry({ status: 429, retryAfter: '3' }, 0)).toEqual({ retry: true, delayMs: 3000 });
    expect(decideRetry({ status: 503, retryAfter: '1', code: 'ServiceUnavailable' }, 2)).toEqual({ retry: true, delayMs: 1000 });
    // A non-integer Retry-After (an HTTP date) falls back to backoff.
    const d = decideRetry({ status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }, 0, SDK_RETRY_POLICY, 0);
    expect(d).toEqual({ retry: true, delayMs: 250 });
  });

  it('retries 500/502/504 unless the code says ExternalError or EndpointError; 503 is retried even then', () => {
    expect(decideRetry({ status: 500, code: 'InternalError' }, 0).retry).toBe(true);
    expect(decideRetry({ status: 504 }, 0).retry).toBe(true);
    expect(decideRetry({ status: 502, code: 'ExternalError.DirListingFailed.GCDisconnected' }, 0).retry).toBe(false);
    expect(decideRetry({ status: 502, code: 'EndpointError' }, 0).retry).toBe(false);
    expect(decideRetry({ status: 500, code: 'EndpointError.Foo' }, 0).retry).toBe(false);
    expect(decideRetry({ status: 503, code: 'ExternalError' }, 0).retry).toBe(true);
  });

  it('never retries other 4xx', () => {
    for (const status of [400, 403, 404, 409]) expect(decideRetry({ status }, 0).retry).toBe(false);
  });

  it('gives up after 5 retries (6 attempts)', () => {
    expect(decideRetry({ status: 500 }, 4).retry).toBe(true);
    expect(decideRetry({ status: 500 }, 5).retry).toBe(false);
    expect(decideRetry({ status: 429, retryAfter: '1' }, 5).retry).toBe(false);
  });
});
