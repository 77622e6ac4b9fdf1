import type { FileRecord } from '@terra-transfer/ledger';
import { sweepVerdict } from './sweep-policy.js';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;
const MIN_AGE = 2 * DAY;
const old = { size: 10, mtimeMs: NOW - 3 * DAY };
const rec = (over: Partial<FileRecord>): FileRecord => ({
  path: '/c/a', state: 'pending', size: old.size, mtimeMs: old.mtimeMs, uploadId: 'u', attempt: 1, site: 's', sensor: 'x',
  batchId: null, taskId: null, checksum: null, reason: null, updatedAt: NOW, ...over,
});

describe('sweepVerdict', () => {
  it('leaves files younger than the threshold alone', () => {
    expect(sweepVerdict({ size: 10, mtimeMs: NOW - DAY }, null, NOW, MIN_AGE)).toBe('young');
    expect(sweepVerdict({ size: 10, mtimeMs: NOW - MIN_AGE }, null, NOW, MIN_AGE)).toBe('young');
  });
  it('sends old files with no record, or a record of another version', () => {
    expect(sweepVerdict(old, null, NOW, MIN_AGE)).toBe('sent_no_record');
    expect(sweepVerdict(old, rec({ size: 11, state: 'transferred' }), NOW, MIN_AGE)).toBe('sent_other_version');
    expect(sweepVerdict(old, rec({ mtimeMs: old.mtimeMs - 5000, state: 'in_flight' }), NOW, MIN_AGE)).toBe('sent_other_version');
  });
  it('does not send what is transferred or on its way', () => {
    expect(sweepVerdict(old, rec({ state: 'transferred' }), NOW, MIN_AGE)).toBe('transferred');
    expect(sweepVerdict(old, rec({ state: 'deleted' }), NOW, MIN_AGE)).toBe('transferred');
    expect(sweepVerdict(old, rec({ state: 'batched' }), NOW, MIN_AGE)).toBe('in_flight');
    expect(sweepVerdict(old, rec({ state: 'in_flight', updatedAt: NOW - 10 * DAY }), NOW, MIN_AGE)).toBe('in_flight');
  });
  it('sends pending or failed records only once they are older than the threshold', () => {
    expect(sweepVerdict(old, rec({ state: 'pending', updatedAt: NOW - DAY }), NOW, MIN_AGE)).toBe('recent_pending');
    expect(sweepVerdict(old, rec({ state: 'failed', updatedAt: NOW - DAY }), NOW, MIN_AGE)).toBe('recent_pending');
    expect(sweepVerdict(old, rec({ state: 'pending', updatedAt: NOW - 3 * DAY }), NOW, MIN_AGE)).toBe('sent_stale');
    expect(sweepVerdict(old, rec({ state: 'failed', updatedAt: NOW - 3 * DAY }), NOW, MIN_AGE)).toBe('sent_stale');
  });
});
