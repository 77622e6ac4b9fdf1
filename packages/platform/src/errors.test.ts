import { readFileSync } from 'node:fs';
import { ERROR_CODES, classify, errorBody, isErrorCode, isRetryCode, PermanentError, TransientError, UpstreamUnavailableError, type ErrorCode } from './index.js';
import { renderErrorsDoc } from './render-errors.js';

describe('the error catalogue', () => {
  it('docs/errors.md is the rendering of the catalogue', () => {
    expect(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorsDoc());
  });

  it('has a decision, an origin and a one-line meaning for every code, and codes fit a metric label', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(['retry', 'give_up', 'unavailable']).toContain(spec.decision);
      expect(spec.from.length).toBeGreaterThan(0);
      expect(spec.meaning.length).toBeGreaterThan(0);
      expect(spec.meaning).not.toContain('\n');
    }
  });

  it('the error classes take their retry decision from the catalogue', () => {
    expect(new TransientError('REDIS_WRITE', 'x')).toMatchObject({ code: 'REDIS_WRITE', retryable: true, name: 'TransientError' });
    expect(new PermanentError('UNSAFE_PATH', 'x')).toMatchObject({ code: 'UNSAFE_PATH', retryable: false, name: 'PermanentError' });
    expect(new UpstreamUnavailableError('clowder', 'CLOWDER_5XX', 'x')).toMatchObject({ upstream: 'clowder', retryable: true });
    expect(new TransientError('PG_WRITE_FAILED', 'x', { upstreamCode: '40001' }).upstreamCode).toBe('40001');
    // @ts-expect-error a give-up code is not a transient one: the wrong decision does not compile
    const wrongDecision = () => new TransientError('UNSAFE_PATH', 'x');
    // @ts-expect-error an uncatalogued code does not compile
    const uncatalogued = () => new PermanentError('NOT_A_CODE', 'x');
    // ...and past a cast, the constructor refuses them.
    expect(wrongDecision).toThrow('TransientError: UNSAFE_PATH is catalogued as give_up, not retry');
    expect(uncatalogued).toThrow(/NOT_A_CODE is not in the error catalogue/);
  });

  it('classify returns only catalogued codes, whatever it is given', () => {
    const given: unknown[] = [
      new TransientError('LOCK_LOST', 'x'),
      new UpstreamUnavailableError('postgres', 'POSTGRES_UNAVAILABLE', 'x'),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('duplicate key'), { code: '23505' }),
      Object.assign(new Error('SCHEMA_MISMATCH: x'), { name: 'ContractError', code: 'SCHEMA_MISMATCH' }),
      Object.assign(new Error('x'), { name: 'ContractError', code: 'SOMETHING_NEW' }),
      'a string',
      undefined,
    ];
    const codes = given.map((e) => classify(e).code);
    expect(codes).toEqual(['LOCK_LOST', 'POSTGRES_UNAVAILABLE', 'ECONNREFUSED', 'UNEXPECTED', 'SCHEMA_MISMATCH', 'CONTRACT', 'UNEXPECTED', 'UNEXPECTED']);
    for (const c of codes) expect(isErrorCode(c)).toBe(true);
    expect(classify(given[5]).retryable).toBe(false);
    expect(classify(given[1]).unavailable).toBe('postgres');
  });

  it('isRetryCode and errorBody follow the catalogue', () => {
    expect((Object.keys(ERROR_CODES) as ErrorCode[]).filter(isRetryCode)).toContain('UNEXPECTED');
    expect(isRetryCode('UNSAFE_PATH')).toBe(false);
    expect(errorBody('NOT_FOUND', 'no batch 7')).toEqual({ error: 'NOT_FOUND', message: 'no batch 7' });
    expect(isErrorCode('toString')).toBe(false);
  });
});
