import { judge, type OnDisk } from './versions.js';

const c = (path: string, size: number, mtimeMs: number, attempt = 1) => ({ path, size, mtimeMs, attempt });
const disk = (entries: Array<[string, OnDisk]>) => new Map(entries);

describe('judge', () => {
  it('sends the version on disk, whichever event came first', () => {
    const full = { kind: 'file', size: 100, mtimeMs: 2000.4 } as const;
    expect(judge([c('/a', 10, 1000), c('/a', 100, 2000)], disk([['/a', full]])).map((v) => v.kind)).toEqual(['superseded', 'send']);
    expect(judge([c('/a', 100, 2000), c('/a', 10, 1000)], disk([['/a', full]])).map((v) => v.kind)).toEqual(['send', 'superseded']);
  });
  it('keeps the highest attempt of the same version; a tie goes to the later event', () => {
    const d = disk([['/a', { kind: 'file', size: 1, mtimeMs: 1 }]]);
    expect(judge([c('/a', 1, 1, 2), c('/a', 1, 1, 1)], d)).toEqual([{ kind: 'send' }, { kind: 'duplicate', of: 0 }]);
    expect(judge([c('/a', 1, 1), c('/a', 1, 1)], d)).toEqual([{ kind: 'duplicate', of: 1 }, { kind: 'send' }]);
  });
  it('a retry of an old version never wins over the version on disk', () => {
    const d = disk([['/a', { kind: 'file', size: 2, mtimeMs: 2 }]]);
    expect(judge([c('/a', 2, 2, 1), c('/a', 1, 1, 5)], d).map((v) => v.kind)).toEqual(['send', 'superseded']);
  });
  it('supersedes every event when the disk holds a version none of them names', () => {
    expect(judge([c('/a', 1, 1), c('/a', 2, 2)], disk([['/a', { kind: 'file', size: 3, mtimeMs: 3 }]])).map((v) => v.kind)).toEqual(['superseded', 'superseded']);
  });
  it('a missing or non-regular file: one vanished event per path, the rest its duplicates', () => {
    expect(judge([c('/a', 1, 1), c('/a', 2, 2), c('/b', 1, 1)], disk([['/a', { kind: 'missing' }], ['/b', { kind: 'not_regular', type: 'directory' }]]))).toEqual([
      { kind: 'duplicate', of: 1 }, { kind: 'vanished' }, { kind: 'vanished' },
    ]);
  });
});
