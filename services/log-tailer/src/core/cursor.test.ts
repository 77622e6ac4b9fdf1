import { CURSOR_VERSION, decodeCursor, distinctCandidates, encodeCursor, fingerprint, resumePlan, uploadId, type Candidate, type CursorState } from './cursor.js';

const line = (s: string) => Buffer.from(`${s}\n`);

describe('fingerprint', () => {
  it('does not exist before the first line is complete (and the file is under 1 KiB)', () => {
    expect(fingerprint(Buffer.from(''))).toBeNull();
    expect(fingerprint(Buffer.from('Mon Aug  1 12:00:07 2025 3 h 1 /x b'))).toBeNull();
  });
  it('is stable while the file grows: it covers the first line only', () => {
    const first = line('Mon Aug  1 12:00:07 2025 3 h 1 /x b _ i r u ftp 0 * c');
    const fp = fingerprint(first);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(Buffer.concat([first, line('second')]))).toBe(fp);
    expect(fingerprint(Buffer.concat([first, Buffer.alloc(5000, 0x41)]).subarray(0, 1024))).toBe(fp);
  });
  it('differs for a different first line (a truncated and refilled log)', () => {
    expect(fingerprint(line('a'))).not.toBe(fingerprint(line('b')));
  });
  it('uses the first 1 KiB when the first line is longer', () => {
    const long = Buffer.alloc(3000, 0x41);
    expect(fingerprint(long.subarray(0, 1023))).toBeNull();
    expect(fingerprint(long.subarray(0, 1024))).toBe(fingerprint(long));
  });
  it('makes ids from the fingerprint and the line offset', () => {
    expect(uploadId('0123456789abcdef', 42)).toBe('xferlog:0123456789abcdef:42');
  });
});

describe('cursor encoding', () => {
  it('round-trips and refuses what it cannot trust', () => {
    const s: CursorState = { version: CURSOR_VERSION, files: [{ fingerprint: '0123456789abcdef', dev: 1, ino: 2, path: '/l/x', offset: 3, retired: false }] };
    expect(decodeCursor(encodeCursor(s))).toEqual(s);
    expect(() => decodeCursor('{"version":2,"files":[]}')).toThrow(/version/);
    expect(() => decodeCursor('{"version":1,"files":[{"fingerprint":"zz","dev":1,"ino":2,"offset":3}]}')).toThrow(/fingerprint/);
    expect(() => decodeCursor('{"version":1,"files":[{"fingerprint":null,"dev":1,"ino":2,"offset":-3}]}')).toThrow(/offset/);
    expect(() => decodeCursor('{"vers')).toThrow();
  });
});

describe('resumePlan', () => {
  const c = (path: string, fp: string | null, ino: number, gz = false): Candidate => ({ path, dev: 1, ino, gz, fingerprint: fp });
  const e = (fp: string | null, ino: number, offset: number, retired = false) => ({ fingerprint: fp, dev: 1, ino, path: '', offset, retired });
  const st = (...files: ReturnType<typeof e>[]): CursorState => ({ version: CURSOR_VERSION, files });
  const A = 'aaaaaaaaaaaaaaaa';
  const B = 'bbbbbbbbbbbbbbbb';
  const C = 'cccccccccccccccc';
  const D = 'dddddddddddddddd';

  it('first start: the current log only, from its start or end', () => {
    const cands = [c('x.1', A, 1), c('x', B, 2)];
    expect(resumePlan(undefined, cands, false)).toEqual({ starts: [null, 0], lost: false });
    expect(resumePlan(undefined, cands, true)).toEqual({ starts: [null, 'end'], lost: false });
  });

  it('resumes the same file at its offset', () => {
    expect(resumePlan(st(e(B, 2, 500)), [c('x.1', A, 1), c('x', B, 2)], false).starts).toEqual([null, 500]);
  });

  it('after downtime spanning rotations: the cursor\'s file (now gzipped) from its offset, newer ones from 0', () => {
    const cands = [c('x.3.gz', A, 10, true), c('x.2.gz', B, 11, true), c('x.1', C, 3), c('x', D, 4)];
    expect(resumePlan(st(e(B, 2, 700)), cands, false).starts).toEqual([null, 700, 0, 0]);
  });

  it('finds a copytruncate copy by fingerprint (new inode), and the truncated original is new content', () => {
    const cands = [c('x.1', A, 9), c('x', B, 2)];
    expect(resumePlan(st(e(A, 2, 300)), cands, false).starts).toEqual([300, 0]);
  });

  it('takes the smaller offset when two entries land on one file', () => {
    expect(resumePlan(st(e(A, 2, 300), e(A, 9, 800)), [c('x.1', A, 9), c('x', B, 2)], false).starts).toEqual([300, 0]);
  });

  it('a retired file resumes at its end offset, so growth after release is still read', () => {
    expect(resumePlan(st(e(A, 1, 900, true), e(B, 2, 10)), [c('x.1', A, 1), c('x', B, 2)], false).starts).toEqual([900, 10]);
  });

  it('a file saved before its first line is found by dev+inode and read from 0', () => {
    expect(resumePlan(st(e(null, 2, 0)), [c('x.1', A, 1), c('x', B, 2)], false).starts).toEqual([null, 0]);
  });

  it('reads everything again when none of the cursor\'s files exists any more, or the cursor is unreadable', () => {
    const cands = [c('x.1', C, 3), c('x', D, 4)];
    expect(resumePlan(st(e(A, 1, 5)), cands, false)).toEqual({ starts: [0, 0], lost: true });
    expect(resumePlan('unreadable', cands, false)).toEqual({ starts: [0, 0], lost: true });
  });
});

describe('distinctCandidates', () => {
  const c = (path: string, fp: string | null, ino: number, gz = false): Candidate => ({ path, dev: 1, ino, gz, fingerprint: fp });
  const A = 'aaaaaaaaaaaaaaaa';
  const B = 'bbbbbbbbbbbbbbbb';
  const paths = (r: { keep: Candidate[] }) => r.keep.map((x) => x.path);

  it('keeps every file when each is seen once', () => {
    const cands = [c('x.2.gz', A, 1, true), c('x.1', B, 2), c('x', null, 3)];
    expect(distinctCandidates(cands, 'x')).toEqual({ keep: cands, dropped: [] });
  });

  it('a rotated log and the gzip logrotate is writing of it: the plain file', () => {
    const r = distinctCandidates([c('x.2.gz', A, 5, true), c('x.1', A, 2), c('x', B, 3)], 'x');
    expect(paths(r)).toEqual(['x.1', 'x']);
    expect(r.dropped.map((x) => x.path)).toEqual(['x.2.gz']);
  });

  it('the current log and its copytruncate copy: the current log', () => {
    expect(paths(distinctCandidates([c('x.1', A, 9), c('x', A, 2)], 'x'))).toEqual(['x']);
  });

  it('one file seen at two names (renamed mid-listing): once, and never every copy dropped', () => {
    expect(paths(distinctCandidates([c('x.1', A, 2), c('x', A, 2)], 'x'))).toEqual(['x']);
    // Same inode at two rotated names plus a gzip copy of the same content: exactly one survives.
    const r = distinctCandidates([c('x.3.gz', A, 7, true), c('x.2', A, 2), c('x.1', A, 2)], 'x');
    expect(paths(r)).toEqual(['x.1']);
    // Files without a first line yet are told apart by inode only.
    expect(paths(distinctCandidates([c('x.1', null, 4), c('x', null, 3)], 'x'))).toEqual(['x.1', 'x']);
  });
});
