import { DEFAULT_ROTATED_SUFFIX, rotatedGenerations, rotatedSuffixRegex } from './rotation.js';

describe('rotatedGenerations', () => {
  const re = rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX);
  it('orders numbered generations oldest first (higher number is older)', () => {
    const names = ['xferlog', 'xferlog.1', 'xferlog.2.gz', 'xferlog.10.gz', 'xferlog.3.gz', 'other.1', 'xferlog.bak', 'xferlogx.1'];
    expect(rotatedGenerations('xferlog', names, re).map((r) => r.name)).toEqual(['xferlog.10.gz', 'xferlog.3.gz', 'xferlog.2.gz', 'xferlog.1']);
  });
  it('orders dateext generations oldest first', () => {
    const names = ['xferlog-20250103', 'xferlog-20250101.gz', 'xferlog-20250102.gz', 'xferlog'];
    const g = rotatedGenerations('xferlog', names, re);
    expect(g.map((r) => r.name)).toEqual(['xferlog-20250101.gz', 'xferlog-20250102.gz', 'xferlog-20250103']);
    expect(g.map((r) => r.gz)).toEqual([true, true, false]);
  });
  it('lists a generation being compressed (plain and .gz) plain first', () => {
    expect(rotatedGenerations('x', ['x.1.gz', 'x.1'], re).map((r) => r.name)).toEqual(['x.1', 'x.1.gz']);
  });
  it('refuses a pattern without an ordering group', () => {
    expect(() => rotatedSuffixRegex('^\\.old$')).toThrow(/named group/);
  });
});
