import { hasHiddenComponent, hasWildcards, loggedNameMatches, lossyKey, mapLoggedPath, mayNameHidden } from './lossy-name.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('loggedNameMatches', () => {
  it('matches a name logged without loss', () => {
    expect(loggedNameMatches('left.bin', b('left.bin'))).toBe(true);
    expect(loggedNameMatches('left.bin', b('left.bim'))).toBe(false);
  });
  it('lets _ stand for _, a space or a control byte, and nothing else', () => {
    expect(loggedNameMatches('a_b', b('a_b'))).toBe(true);
    expect(loggedNameMatches('a_b', b('a b'))).toBe(true);
    expect(loggedNameMatches('a_b', b('a\tb'))).toBe(true);
    expect(loggedNameMatches('a_b', b('axb'))).toBe(false);
    expect(loggedNameMatches('a_b', b('a-b'))).toBe(false);
  });
  it('lets ? stand for ? or one unprintable byte (each byte of a UTF-8 character)', () => {
    expect(loggedNameMatches('caf??.bin', b('café.bin'))).toBe(true);
    expect(loggedNameMatches('caf?.bin', b('café.bin'))).toBe(false); // é is two bytes
    expect(loggedNameMatches('q?mark', b('q?mark'))).toBe(true);
    expect(loggedNameMatches('ctl?x', b('ctl\x01x'))).toBe(true);
    expect(loggedNameMatches('q?mark', b('qXmark'))).toBe(false);
  });
  it('requires the same length', () => {
    expect(loggedNameMatches('ab', b('abc'))).toBe(false);
  });
  it('knows which logged names may stand for others', () => {
    expect(hasWildcards('2016-08-02__09-42-51-195')).toBe(true);
    expect(hasWildcards('x?.bin')).toBe(true);
    expect(hasWildcards('left.bin')).toBe(false);
  });
});

describe('lossyKey', () => {
  it('gives a real name and each logged form of it the same key', () => {
    const pairs: Array<[string, string]> = [['a_b', 'a b'], ['a_b', 'a_b'], ['caf??.bin', 'café.bin'], ['ctl?x', 'ctl\x01x'], ['ctl_x', 'ctl\x01x'], ['q?mark', 'q?mark'], ['left.bin', 'left.bin']];
    for (const [logged, real] of pairs) {
      expect(loggedNameMatches(logged, b(real))).toBe(true);
      expect(lossyKey(logged)).toBe(lossyKey(b(real)));
    }
    // ProFTPD keeps UTF-8 bytes: the logged name (latin1) is the real bytes.
    expect(lossyKey(b('café.bin').toString('latin1'))).toBe(lossyKey(b('café.bin')));
  });
});

describe('mapLoggedPath', () => {
  const mapping = { ftpRoot: '/', userRoots: {} };
  it('maps a chroot-relative path to components under the cache root', () => {
    expect(mapLoggedPath('/MovingSensor/stereoTop/x.bin', 'u', mapping)).toEqual({ ok: true, components: ['MovingSensor', 'stereoTop', 'x.bin'] });
  });
  it('strips a configured FTP root and rejects paths outside it', () => {
    const m = { ftpRoot: '/gantry_data', userRoots: {} };
    expect(mapLoggedPath('/gantry_data/LemnaTec/a.json', 'u', m)).toEqual({ ok: true, components: ['LemnaTec', 'a.json'] });
    expect(mapLoggedPath('/gantry_datax/a.json', 'u', m)).toEqual({ ok: false, reason: 'outside_ftp_root' });
    expect(mapLoggedPath('/etc/passwd', 'u', m)).toEqual({ ok: false, reason: 'outside_ftp_root' });
  });
  it('prepends a chrooted user\'s root, for absolute and relative logged paths', () => {
    const m = { ftpRoot: '/', userRoots: { lemnatec: 'LemnaTec' } };
    expect(mapLoggedPath('/EnvironmentLogger/a.json', 'lemnatec', m)).toEqual({ ok: true, components: ['LemnaTec', 'EnvironmentLogger', 'a.json'] });
    expect(mapLoggedPath('EnvironmentLogger/a.json', 'lemnatec', m)).toEqual({ ok: true, components: ['LemnaTec', 'EnvironmentLogger', 'a.json'] });
    // `..` stays inside the user's own root, as it does in the chrooted session.
    expect(mapLoggedPath('/x/../../Other/a.json', 'lemnatec', m)).toEqual({ ok: false, reason: 'escapes_root' });
    expect(mapLoggedPath('/x/../a.json', 'lemnatec', m)).toEqual({ ok: true, components: ['LemnaTec', 'a.json'] });
  });
  it('resolves . and .. lexically and rejects climbing above the root', () => {
    expect(mapLoggedPath('/a/./b/../c.bin', 'u', mapping)).toEqual({ ok: true, components: ['a', 'c.bin'] });
    expect(mapLoggedPath('/../etc/passwd', 'u', mapping)).toEqual({ ok: false, reason: 'escapes_root' });
    expect(mapLoggedPath('/', 'u', mapping)).toEqual({ ok: false, reason: 'empty' });
  });
  it('does not treat inherited object keys as user roots', () => {
    expect(mapLoggedPath('/x', 'constructor', mapping)).toEqual({ ok: true, components: ['x'] });
  });
});

describe('hidden components', () => {
  const hidden = (p: string) => {
    if (!mayNameHidden(p)) return false;
    const m = mapLoggedPath(p, 'u', { ftpRoot: '/', userRoots: {} });
    return m.ok && hasHiddenComponent(m.components);
  };
  it('normalises first: `./`, `//` and `..` do not make a path hidden', () => {
    expect(hidden('/a/./b.bin')).toBe(false);
    expect(hidden('/a//b.bin')).toBe(false);
    expect(hidden('./a/b.bin')).toBe(false);
    expect(hidden('/a/.x/../b.bin')).toBe(false);
    expect(hidden('/a/b./c')).toBe(false);
  });
  it('a component that starts with a dot is hidden', () => {
    expect(hidden('/a/./.b.bin')).toBe(true);
    expect(hidden('/.a/b.bin')).toBe(true);
    expect(hidden('.a/b.bin')).toBe(true);
    expect(hidden('/a//.x/b.bin')).toBe(true);
    expect(hidden('/a/..b.bin')).toBe(true);
  });
});
