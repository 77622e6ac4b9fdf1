import { decideResend, giveUpReason, resendDelays } from './resend.js';

const H = 3_600_000;

describe('resendDelays', () => {
  it('doubles from the base up to the cap, which repeats', () => {
    expect(resendDelays(H, 24 * H)).toEqual([H, 2 * H, 4 * H, 8 * H, 16 * H, 24 * H]);
    expect(resendDelays(H, H)).toEqual([H]);
    expect(resendDelays(5 * H, 3 * H)).toEqual([3 * H]);
  });
});

describe('decideResend', () => {
  const rec = { size: 10, mtimeMs: 1000.4 };
  it('sends the same version again, a settled new version as such, and waits for a fresh one', () => {
    expect(decideResend(rec, { kind: 'file', size: 10, mtimeMs: 1000.9 }, 5000, 100)).toEqual({ action: 'resend' });
    expect(decideResend(rec, { kind: 'file', size: 11, mtimeMs: 2000 }, 5000, 100)).toEqual({ action: 'send_changed', size: 11, mtimeMs: 2000 });
    expect(decideResend(rec, { kind: 'file', size: 11, mtimeMs: 4950 }, 5000, 100)).toEqual({ action: 'wait_changed' });
  });
  it('keeps a missing or special file failed, saying why', () => {
    expect(decideResend(rec, { kind: 'missing' }, 5000, 100)).toMatchObject({ action: 'keep', code: 'CACHE_FILE_MISSING' });
    expect(decideResend(rec, { kind: 'not_regular', type: 'symlink' }, 5000, 100)).toMatchObject({ action: 'keep', code: 'NOT_A_REGULAR_FILE', detail: expect.stringContaining('symlink') });
  });
});

describe('giveUpReason', () => {
  it('keeps the label set bounded', () => {
    expect(giveUpReason('FILE_NOT_FOUND')).toBe('FILE_NOT_FOUND');
    expect(giveUpReason('SOMETHING_NEW_FROM_GLOBUS')).toBe('other');
    expect(giveUpReason('other')).toBe('other');
  });
});
