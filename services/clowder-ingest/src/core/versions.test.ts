import { compareVersions, decide, encodeVersion, newest } from './versions.js';

const v = (mtimeMs: number, size: number, checksum: string | null = null) => encodeVersion({ mtimeMs, size, checksum });

describe('file versions', () => {
  it('orders by mtime, then size, then checksum (the same winner whatever the arrival order)', () => {
    expect(compareVersions({ mtimeMs: 2, size: 1, checksum: null }, { mtimeMs: 1, size: 9, checksum: null })).toBe(1);
    expect(compareVersions({ mtimeMs: 1, size: 2, checksum: null }, { mtimeMs: 1, size: 1, checksum: null })).toBe(1);
    expect(compareVersions({ mtimeMs: 1, size: 1, checksum: 'b' }, { mtimeMs: 1, size: 1, checksum: 'a' })).toBe(1);
    expect(compareVersions({ mtimeMs: 1, size: 1, checksum: 'a' }, { mtimeMs: 1, size: 1, checksum: 'a' })).toBe(0);
    expect(newest(v(1, 1), v(2, 1))).toBe(v(2, 1));
    expect(newest(undefined, v(2, 1))).toBe(v(2, 1));
  });

  it('compares mtimes to the whole millisecond, as the ledger does (a sub-millisecond difference is the same version)', () => {
    expect(compareVersions({ mtimeMs: 1000.25, size: 1, checksum: null }, { mtimeMs: 1000.75, size: 1, checksum: null })).toBe(0);
    expect(compareVersions({ mtimeMs: 1001.01, size: 1, checksum: null }, { mtimeMs: 1000.99, size: 1, checksum: null })).toBe(1);
    expect(decide('f1', v(1000.25, 1), v(1000, 1))).toBe('done');
  });

  it('decides: register a new path, replace an older version, ignore the same or an older one, adopt a record without version', () => {
    expect(decide(undefined, undefined, v(1, 1))).toBe('register');
    expect(decide('f1', v(1, 1), v(2, 5))).toBe('replace');
    expect(decide('f1', v(1, 1), v(1, 1))).toBe('done');
    expect(decide('f1', v(2, 5), v(1, 1))).toBe('done');
    expect(decide('f1', undefined, v(1, 1))).toBe('adopt');
  });
});
