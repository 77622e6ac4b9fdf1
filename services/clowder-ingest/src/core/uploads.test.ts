import { findRegistered, mapUploaded } from './uploads.js';

const dir = '/home/clowder/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
const A = '5a0000000000000000000001';
const B = '5a0000000000000000000002';
const C = '5a0000000000000000000003';

describe('mapping uploadToDataset answers back to paths', () => {
  it('maps {"ids"} by name and a lone {"id"} to the lone path', () => {
    expect(mapUploaded([`${dir}/l.bin`, `${dir}/r.bin`], [{ id: B, name: 'r.bin' }, { id: A, name: 'l.bin' }])).toEqual(new Map([[`${dir}/l.bin`, A], [`${dir}/r.bin`, B]]));
    expect(mapUploaded([`${dir}/l.bin`], [{ id: A }])).toEqual(new Map([[`${dir}/l.bin`, A]]));
  });

  it('refuses to guess when Clowder silently skipped some paths', () => {
    expect(mapUploaded([`${dir}/l.bin`, `${dir}/r.bin`], [{ id: A }])).toBeNull();
    expect(mapUploaded([`${dir}/l.bin`, `${dir}/r.bin`], [{ id: A, name: 'l.bin' }, { id: B, name: 'other.bin' }])).toBeNull();
  });

  it('finds registered paths in listFiles by filepath (oldest duplicate wins), by name without filepath', () => {
    const files = [
      { id: B, filename: 'l.bin', contentType: '', created: '', size: 0, filepath: `${dir}/l.bin` },
      { id: A, filename: 'l.bin', contentType: '', created: '', size: 0, filepath: `${dir}/l.bin` },
      { id: C, filename: 'x.bin', contentType: '', created: '', size: 0, filepath: `/elsewhere/x.bin` },
    ];
    expect(findRegistered([`${dir}/l.bin`, `${dir}/x.bin`], files)).toEqual(new Map([[`${dir}/l.bin`, A]]));
    expect(findRegistered([`${dir}/x.bin`], [{ id: C, filename: 'x.bin', contentType: '', created: '', size: 0 }])).toEqual(new Map([[`${dir}/x.bin`, C]]));
  });
});
