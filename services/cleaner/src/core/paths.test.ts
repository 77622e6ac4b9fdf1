import { insideRoot, removableParents } from './paths.js';

describe('insideRoot', () => {
  it('accepts plain paths under the root only', () => {
    expect(insideRoot('/cache', '/cache/MovingSensor/x/2016-01-01/f.bin')).toBe('MovingSensor/x/2016-01-01/f.bin');
    expect(insideRoot('/cache/', '/cache/a/b')).toBe('a/b');
  });
  it.each([
    '/cache/../etc/passwd',
    '/cache/a/../../etc/passwd',
    '/cache/a/./b',
    '/cache//a',
    '/cache',
    '/cache/',
    '/cacheX/a',
    '/other/a',
    'cache/a',
    '/cache/a\0b',
  ])('rejects %s', (p) => {
    expect(insideRoot('/cache', p)).toBeNull();
  });
});

describe('removableParents', () => {
  const wl = ['MovingSensor/stereoTop', 'LemnaTec/EnvironmentLogger'];
  it('lists emptied parents deepest first, up to the depth, stopping at a whitelisted root', () => {
    expect(removableParents('MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin', wl, 5)).toEqual([
      'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195',
      'MovingSensor/stereoTop/2016-08-02',
    ]);
    expect(removableParents('MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin', wl, 1)).toEqual(['MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195']);
    expect(removableParents('MovingSensor/stereoTop/2016-08-02/x.bin', wl, 0)).toEqual([]);
  });
  it('never lists the root, a whitelisted root or a directory above one', () => {
    expect(removableParents('MovingSensor/stereoTop/f.bin', wl, 5)).toEqual([]);
    expect(removableParents('MovingSensor/f.bin', wl, 5)).toEqual([]);
    expect(removableParents('f.bin', [], 5)).toEqual([]);
    expect(removableParents('Other/2016/f.bin', wl, 5)).toEqual(['Other/2016', 'Other']);
  });
});
