import { checkRequestedPath } from './submission.js';
import { apiUploadId } from './ids.js';

const WL = ['MovingSensor/stereoTop'];

describe('checkRequestedPath', () => {
  it('accepts a whitelisted path under the root, and any path under it when the whitelist is ignored', () => {
    expect(checkRequestedPath('/cache', '/cache/MovingSensor/stereoTop/a.bin', WL, false)).toEqual({ ok: true, rel: 'MovingSensor/stereoTop/a.bin' });
    expect(checkRequestedPath('/cache', '/cache/other/a.bin', WL, false)).toEqual({ ok: false, code: 'NOT_WHITELISTED' });
    expect(checkRequestedPath('/cache', '/cache/other/a.bin', WL, true)).toEqual({ ok: true, rel: 'other/a.bin' });
  });

  it('refuses what is not lexically inside the root, and hidden paths', () => {
    for (const p of ['/elsewhere/a.bin', 'cache/a.bin', '/cache/../etc/passwd', '/cache/MovingSensor/./a', '/cache//a', '/cache', '/cachex/a']) {
      expect(checkRequestedPath('/cache', p, WL, true)).toEqual({ ok: false, code: 'OUTSIDE_SITE' });
    }
    expect(checkRequestedPath('/cache', '/cache/MovingSensor/stereoTop/.partial', WL, true)).toEqual({ ok: false, code: 'HIDDEN' });
  });
});

describe('apiUploadId', () => {
  it('is the same for the same version and differs per version', () => {
    expect(apiUploadId('/c/a', 1, 2)).toBe('api:/c/a:1:2');
    expect(apiUploadId('/c/a', 1, 3)).not.toBe(apiUploadId('/c/a', 1, 2));
    expect(apiUploadId(`/${'x'.repeat(600)}`, 1, 2)).toMatch(/^api:sha256:[0-9a-f]{40}:1:2$/);
  });
});
