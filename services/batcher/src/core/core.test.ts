import { deadlineFor, deadlineIso, flushReason, taskLabel } from './batching.js';
import { route, validateDestinations } from './destinations.js';

const limits = { maxFiles: 3, maxBytes: 100, maxWaitMs: 1_000 };

describe('flushReason', () => {
  it('flushes on count, bytes or age, whichever comes first', () => {
    expect(flushReason({ files: 2, bytes: 10, openedAt: 0 }, limits, 500)).toBeNull();
    expect(flushReason({ files: 3, bytes: 10, openedAt: 0 }, limits, 500)).toBe('files');
    expect(flushReason({ files: 1, bytes: 100, openedAt: 0 }, limits, 500)).toBe('bytes');
    expect(flushReason({ files: 1, bytes: 1, openedAt: 0 }, limits, 1_000)).toBe('age');
    expect(flushReason({ files: 0, bytes: 0, openedAt: 0 }, limits, 5_000)).toBeNull();
  });
});

describe('labels and deadlines', () => {
  it('keeps labels within Globus rules', () => {
    const l = taskLabel('ua-mac', 'x'.repeat(200), '0123456789abcdef', 500);
    expect(l.length).toBeLessThanOrEqual(128);
    expect(l).not.toMatch(/[\r\n]|^\s|\s$/);
    expect(taskLabel('ua-mac', 'ncsa', 'abcdef0123', 2)).toBe('terra ua-mac to ncsa batch abcdef01 (2 files)');
  });
  it('writes deadlines as Globus does', () => {
    expect(deadlineIso(Date.UTC(2026, 0, 1), 24)).toBe('2026-01-02T00:00:00+00:00');
  });
});

describe('route', () => {
  const destinations = [
    { name: 'ncsa-ply', endpoint: 'e2', root: '/ua-mac-3d', include: ['3DScannerRawDataTmp'] },
    { name: 'ncsa', endpoint: 'e1', root: '/ua-mac' },
  ];
  const opts = { cacheRoot: '/gantry_data', sourceRoot: '/globus/gantry', destinations, rules: 'terraref' as const };

  it('maps source and destination paths with the original rewrite rules', () => {
    expect(route('/gantry_data/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin', opts)).toEqual({
      destination: destinations[1], relPath: 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin',
      sourcePath: '/globus/gantry/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin',
      destinationPath: '/ua-mac/raw_data/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin',
    });
  });
  it('takes the first destination whose include matches', () => {
    expect(route('/gantry_data/3DScannerRawDataTmp/scanner3DTop/2016-08-02/2016-08-02__09-42-51-195/a.ply', opts)?.destinationPath).toBe(
      '/ua-mac-3d/Level_1/scanner3DTop/2016-08-02/2016-08-02__09-42-51-195/a.ply',
    );
  });
  it('keeps the relative path with identity rules', () => {
    expect(route('/gantry_data/a/b.bin', { ...opts, rules: 'identity' })?.destinationPath).toBe('/ua-mac/a/b.bin');
  });
  it('refuses paths outside the cache root', () => {
    expect(route('/etc/passwd', opts)).toBeNull();
    expect(route('/gantry_data/../etc/passwd', opts)).toBeNull();
  });
  it('validates the DESTINATIONS setting', () => {
    expect(validateDestinations(destinations)).toBeUndefined();
    expect(validateDestinations([])).toMatch(/non-empty/);
    expect(validateDestinations([{ name: 'A B', endpoint: 'e', root: '/x' }])).toMatch(/slug/);
    expect(validateDestinations([{ name: 'a', endpoint: 'e', root: 'rel' }])).toMatch(/absolute/);
    expect(validateDestinations([{ name: 'a', endpoint: 'e', root: '/x' }, { name: 'a', endpoint: 'f', root: '/y' }])).toMatch(/twice/);
  });
});

describe('deadlines on re-submission', () => {
  const now = Date.UTC(2026, 0, 2);
  it('keeps a stored deadline that still has time left', () => {
    expect(deadlineFor('2026-01-02T12:00:00+00:00', now, 24)).toEqual({ deadline: '2026-01-02T12:00:00+00:00', renewed: false });
  });
  it('renews a deadline that passed, or is about to, from now', () => {
    expect(deadlineFor('2026-01-01T00:00:00+00:00', now, 24)).toEqual({ deadline: '2026-01-03T00:00:00+00:00', renewed: true });
    expect(deadlineFor('2026-01-02T00:04:00+00:00', now, 24).renewed).toBe(true);
    expect(deadlineFor('garbage', now, 24).renewed).toBe(true);
  });
  it('scales the margin down for very short task lives', () => {
    // A 36 s task life: the margin is 3.6 s, not 5 minutes.
    expect(deadlineFor(new Date(now + 10_000).toISOString(), now, 0.01).renewed).toBe(false);
  });
});
