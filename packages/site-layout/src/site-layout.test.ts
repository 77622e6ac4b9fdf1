import { collectionChain, destinationRelPath, isHidden, isWhitelisted, relativeTo, sensorInfo, sensorOf } from './index.js';

describe('sensorInfo (the original naming rules)', () => {
  it('takes the sensor 4 levels up under a timestamp folder', () => {
    expect(sensorInfo('MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin')).toEqual({
      sensor: 'stereoTop', date: '2016-08-02', timestamp: '2016-08-02__09-42-51-195',
      datasetName: 'stereoTop - 2016-08-02__09-42-51-195', datasetDir: 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195',
    });
  });
  it('takes the sensor 3 levels up under a date folder, and fixes EnviromentLogger', () => {
    expect(sensorInfo('LemnaTec/EnviromentLogger/2016-04-05/2016-04-05_12-00-00_environmentlogger.json')).toMatchObject({
      sensor: 'EnvironmentLogger', date: '2016-04-05', timestamp: null, datasetName: 'EnvironmentLogger - 2016-04-05',
    });
  });
  it('keeps a disambiguated timestamp (two lemnatec snapshots of one instant) as its own dataset', () => {
    expect(sensorInfo('ddpscIndoorSuite/2026-05-01/2026-05-01__10-00-00-123_2/metadata.json')).toMatchObject({
      sensor: 'ddpscIndoorSuite', date: '2026-05-01', datasetName: 'ddpscIndoorSuite - 2026-05-01__10-00-00-123_2',
    });
    expect(sensorInfo('x/2026-05-01/2026-05-01__10-00-00-123_x/f')).toBeNull();
  });
  it('rejects paths without the layout', () => {
    expect(sensorInfo('a.bin')).toBeNull();
    expect(sensorInfo('x/notadate/file')).toBeNull();
    expect(sensorInfo('x/2016-08-02/2016-08-02__bad/file')).toBeNull();
    expect(sensorOf('stereoTop/file')).toBe('stereoTop');
  });
  it('builds the collection chain; no day collection without a time', () => {
    expect(collectionChain(sensorInfo('MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/l.bin')!)).toEqual([
      'stereoTop', 'stereoTop - 2016', 'stereoTop - 2016-08', 'stereoTop - 2016-08-02',
    ]);
    expect(collectionChain(sensorInfo('LemnaTec/EnvironmentLogger/2016-04-05/f.json')!)).toEqual([
      'EnvironmentLogger', 'EnvironmentLogger - 2016', 'EnvironmentLogger - 2016-04',
    ]);
  });
});

describe('whitelist and hidden files', () => {
  it('matches whole path components only', () => {
    const wl = ['MovingSensor/stereoTop', '/LemnaTec/EnvironmentLogger/'];
    expect(isWhitelisted('MovingSensor/stereoTop/2016-08-02/x', wl)).toBe(true);
    expect(isWhitelisted('LemnaTec/EnvironmentLogger/2016-04-05/x.json', wl)).toBe(true);
    expect(isWhitelisted('MovingSensor/stereoTopX/2016-08-02/x', wl)).toBe(false);
    expect(isWhitelisted('MovingSensor/flirIrCamera/x', wl)).toBe(false);
    expect(isWhitelisted('anything', [])).toBe(false);
  });
  it('spots hidden components', () => {
    expect(isHidden('a/.b/c')).toBe(true);
    expect(isHidden('a/b/.c.swp')).toBe(true);
    expect(isHidden('a/b/c.d')).toBe(false);
    expect(isHidden('.hidden/x')).toBe(true);
    expect(isHidden('a/b./c')).toBe(false);
  });
});

describe('destinationRelPath (the original rewrites)', () => {
  it.each([
    ['MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin', 'raw_data/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin'],
    ['LemnaTec/EnvironmentLogger/2016-04-05/f.json', 'raw_data/EnvironmentLogger/2016-04-05/f.json'],
    ['MAC/lightning/2016-04-05/f.dat', 'raw_data/lightning/2016-04-05/f.dat'],
    ['3DScannerRawDataTmp/scanner3DTop/2016-08-02/2016-08-02__09-42-51-195/a.ply', 'Level_1/scanner3DTop/2016-08-02/2016-08-02__09-42-51-195/a.ply'],
    ['MovingSensor.reproc2016-8-18/stereoTop/2016-08-02/x.bin', 'raw_data/stereoTop/2016-08-02/x.bin'],
  ])('%s → %s', (src, dst) => expect(destinationRelPath(src)).toBe(dst));
});

describe('relativeTo', () => {
  it('refuses anything not strictly under the root', () => {
    expect(relativeTo('/cache', '/cache/a/b')).toBe('a/b');
    expect(relativeTo('/cache/', '/cache/a')).toBe('a');
    expect(relativeTo('/cache', '/cachex/a')).toBeNull();
    expect(relativeTo('/cache', '/cache/../etc/passwd')).toBeNull();
    expect(relativeTo('/cache', '/cache')).toBeNull();
  });
});
