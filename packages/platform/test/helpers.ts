import { createEvent } from '@terra-transfer/contracts';

export function uploaded(n: number, prefix = 'e') {
  return createEvent('file.uploaded', `${prefix}-${n}`, {
    site: 'ua-mac', sensor: 'stereoTop', path: `/cache/stereoTop/f${n}.bin`, size: n, mtimeMs: 1_700_000_000_000,
    ftpTime: null, source: 'sweep', attempt: 1, uploadId: `sweep:/cache/stereoTop/f${n}.bin:${n}`,
  });
}
