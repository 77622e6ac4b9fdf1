import type { FileRecord } from '@terra-transfer/ledger';
import { decideDeletion, type DeletionInput } from './deletion.js';

const NOW = 1_700_000_000_000;
const v = { size: 100, mtimeMs: NOW - 3_600_000 };
const rec = (over: Partial<FileRecord>): FileRecord => ({
  path: '/c/a', state: 'in_flight', size: v.size, mtimeMs: v.mtimeMs, uploadId: 'u', attempt: 1, site: 's', sensor: 'x',
  batchId: null, taskId: null, checksum: null, reason: null, updatedAt: NOW, ...over,
});
const input = (over: Partial<DeletionInput>): DeletionInput => ({ version: v, checksum: 'abc', disk: { kind: 'file', ...v }, record: rec({}), now: NOW, settleMs: 900_000, ...over });

describe('decideDeletion', () => {
  it('deletes the verified version still on disk', () => {
    expect(decideDeletion(input({}))).toEqual({ action: 'delete' });
    // Sub-millisecond differences (a float recorded, an integer compared) are the same version.
    expect(decideDeletion(input({ disk: { kind: 'file', size: v.size, mtimeMs: v.mtimeMs + 0.4 } }))).toEqual({ action: 'delete' });
  });

  it('never deletes an unverified transfer, whatever is on disk', () => {
    for (const checksum of [null, '']) {
      expect(decideDeletion(input({ checksum }))).toMatchObject({ action: 'refuse', code: 'UNVERIFIED_TRANSFER' });
      expect(decideDeletion(input({ checksum, disk: { kind: 'missing' } }))).toMatchObject({ action: 'refuse', code: 'UNVERIFIED_TRANSFER' });
    }
  });

  it('refuses anything but a regular file', () => {
    expect(decideDeletion(input({ disk: { kind: 'not_regular', type: 'symlink' } }))).toMatchObject({ action: 'refuse', code: 'NOT_A_REGULAR_FILE' });
  });

  it('treats a changed file as a new upload unless it is known or still settling', () => {
    const changed = { kind: 'file' as const, size: 200, mtimeMs: NOW - 3_600_000 };
    expect(decideDeletion(input({ disk: changed }))).toEqual({ action: 'resend' });
    expect(decideDeletion(input({ disk: { ...changed, mtimeMs: v.mtimeMs + 1 }, }))).toEqual({ action: 'resend' });
    expect(decideDeletion(input({ disk: changed, record: rec({ size: 200, state: 'pending' }) }))).toEqual({ action: 'noop', outcome: 'changed_known' });
    // A failed record of the new version does not stop the resend.
    expect(decideDeletion(input({ disk: changed, record: rec({ size: 200, state: 'failed' }) }))).toEqual({ action: 'resend' });
    expect(decideDeletion(input({ disk: { ...changed, mtimeMs: NOW - 60_000 } }))).toEqual({ action: 'noop', outcome: 'changed_recent' });
  });

  it('is a no-op for a redelivery after the deletion, and finishes the bookkeeping after a crash', () => {
    const gone = { kind: 'missing' as const };
    expect(decideDeletion(input({ disk: gone, record: rec({ state: 'deleted' }) }))).toEqual({ action: 'noop', outcome: 'already_deleted' });
    expect(decideDeletion(input({ disk: gone, record: rec({ state: 'transferred' }) }))).toEqual({ action: 'finish_gone' });
    expect(decideDeletion(input({ disk: gone, record: rec({ state: 'in_flight' }) }))).toEqual({ action: 'finish_gone' });
    expect(decideDeletion(input({ disk: gone, record: null }))).toEqual({ action: 'finish_gone' });
    expect(decideDeletion(input({ disk: gone, record: rec({ size: 5, state: 'pending' }) }))).toEqual({ action: 'noop', outcome: 'gone' });
  });
});
