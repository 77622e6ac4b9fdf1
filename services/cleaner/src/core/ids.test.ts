import { deletedEventId, resendUploadId, sweepUploadId } from './ids.js';

describe('ids', () => {
  it('names a sweep upload by path, size and mtime, deterministically', () => {
    expect(sweepUploadId('/c/a.bin', 10, 123)).toBe('sweep:/c/a.bin:10:123');
    const long = `/c/${'x'.repeat(600)}`;
    const id = sweepUploadId(long, 10, 123);
    expect(id.length).toBeLessThanOrEqual(512);
    expect(id).toBe(sweepUploadId(long, 10, 123));
    expect(id).not.toBe(sweepUploadId(long, 11, 123));
  });
  it('gives the same file.deleted id on every redelivery', () => {
    expect(deletedEventId('/c/a', 1, 2, 't')).toBe(deletedEventId('/c/a', 1, 2, 't'));
    expect(deletedEventId('/c/a', 1, 2, 't')).not.toBe(deletedEventId('/c/a', 1, 3, 't'));
  });
  it('names each resend round of a failed version apart, deterministically', () => {
    expect(resendUploadId('/c/a.bin', 10, 123.5, 2)).toBe('resend:/c/a.bin:10:123.5:2');
    const long = `/c/${'x'.repeat(600)}`;
    expect(resendUploadId(long, 10, 123, 1).length).toBeLessThanOrEqual(512);
    expect(resendUploadId(long, 10, 123, 1)).toBe(resendUploadId(long, 10, 123, 1));
    expect(resendUploadId(long, 10, 123, 1)).not.toBe(resendUploadId(long, 10, 123, 2));
  });
});
