import type { TaskFile } from '@terra-transfer/contracts';
import { decide, nextInterval, plan } from './decide.js';

const HOUR = 3600_000;

describe('decide', () => {
  it('completes terminal tasks, with the fatal error as reason', () => {
    expect(decide({ status: 'SUCCEEDED' }, null, 0, HOUR)).toEqual({ action: 'complete', status: 'SUCCEEDED', reason: null });
    expect(decide({ status: 'FAILED', fatal_error: { code: 'EXPIRED', description: 'deadline' } }, null, 0, HOUR)).toEqual({ action: 'complete', status: 'FAILED', reason: 'EXPIRED' });
    expect(decide({ status: 'FAILED', fatal_error: null }, null, 0, HOUR)).toMatchObject({ reason: 'FAILED' });
  });
  it('waits on healthy or queued tasks', () => {
    expect(decide({ status: 'ACTIVE', nice_status: 'OK', faults: 0 }, null, 0, HOUR)).toEqual({ action: 'wait', troubled: false, reason: null });
    expect(decide({ status: 'ACTIVE', nice_status: 'Queued', faults: 0 }, null, 0, HOUR)).toMatchObject({ troubled: false });
    expect(decide({ status: 'ACTIVE', nice_status: null }, null, 0, HOUR)).toMatchObject({ troubled: false });
  });
  it('flags a troubled task and cancels it once troubled too long', () => {
    const t = { status: 'ACTIVE', nice_status: 'FILE_NOT_FOUND', faults: 3, subtasks_pending: 1 };
    expect(decide(t, null, 0, HOUR)).toEqual({ action: 'wait', troubled: true, reason: 'FILE_NOT_FOUND' });
    expect(decide(t, 0, HOUR - 1, HOUR)).toMatchObject({ action: 'wait', troubled: true });
    expect(decide(t, 0, HOUR, HOUR)).toEqual({ action: 'cancel', reason: 'FILE_NOT_FOUND' });
    expect(decide({ status: 'INACTIVE', nice_status: null }, 0, HOUR, HOUR)).toEqual({ action: 'cancel', reason: 'INACTIVE' });
  });
});

const f = (n: number, attempt = 1): TaskFile => ({
  path: `/cache/f${n}`, sourcePath: `/src/f${n}`, destinationPath: `/dst/f${n}`, size: n, mtimeMs: 1, site: 'ua-mac', sensor: 's', uploadId: `u${n}`, attempt,
});

describe('plan', () => {
  it('splits arrived, requeued and failed files', () => {
    const arrived = [{ source_path: '/src/f1', destination_path: '/dst/f1', size: 1, checksum: 'c1', checksum_algorithm: 'MD5' }];
    const p = plan([f(1), f(2), f(3, 3)], arrived, new Map([['/src/f2', 'FILE_NOT_FOUND']]), 'CANCELED', 3);
    expect(p.transferred.map((t) => t.file.path)).toEqual(['/cache/f1']);
    expect(p.requeue).toEqual([{ file: f(2), reason: 'FILE_NOT_FOUND' }]);
    expect(p.failed).toEqual([{ file: f(3, 3), reason: 'CANCELED' }]);
  });
  it('requeues everything of a task Globus lost', () => {
    const p = plan([f(1), f(2)], [], new Map(), 'TASK_NOT_FOUND', 3);
    expect(p.requeue.map((r) => r.reason)).toEqual(['TASK_NOT_FOUND', 'TASK_NOT_FOUND']);
  });
});

describe('nextInterval', () => {
  it('backs off while nothing changes and snaps back when something does', () => {
    expect(nextInterval(2_000, false, 2_000, 60_000)).toBe(3_000);
    expect(nextInterval(50_000, false, 2_000, 60_000)).toBe(60_000);
    expect(nextInterval(50_000, true, 2_000, 60_000)).toBe(2_000);
  });
});
