import type { TransferredFile } from '@terra-transfer/contracts';
import { chunkBySite } from './chunks.js';

const file = (n: number, size = 10): TransferredFile => ({
  sensor: 's', path: `/c/${n}`, sourcePath: `/s/${n}`, destinationPath: `/d/${n}`, size, mtimeMs: 1, checksum: 'x', checksumAlgorithm: 'MD5', uploadId: `u${n}`, attempt: 1,
});

describe('chunkBySite', () => {
  it('cuts each site\'s files, in order, at the file limit', () => {
    const files = [1, 2, 3, 4, 5].map((n) => ({ site: n % 2 ? 'a' : 'b', file: file(n) }));
    const chunks = chunkBySite(files, { files: 2, bytes: 1e9 });
    expect(chunks.map((c) => [c.site, c.chunk, c.files.map((f) => f.uploadId)])).toEqual([
      ['a', 0, ['u1', 'u3']], ['a', 1, ['u5']], ['b', 0, ['u2', 'u4']],
    ]);
  });

  it('cuts at the byte limit; a file larger than the limit is a chunk of its own', () => {
    const files = [file(1, 40), file(2, 40), file(3, 500), file(4, 10)].map((f) => ({ site: 'a', file: f }));
    expect(chunkBySite(files, { files: 100, bytes: 100 }).map((c) => c.files.map((f) => f.uploadId))).toEqual([['u1', 'u2'], ['u3'], ['u4']]);
  });

  it('is deterministic and makes nothing of nothing', () => {
    const files = Array.from({ length: 1001 }, (_, i) => ({ site: 'a', file: file(i) }));
    expect(chunkBySite(files, { files: 500, bytes: 1e12 }).map((c) => c.files.length)).toEqual([500, 500, 1]);
    expect(chunkBySite([], { files: 500, bytes: 1 })).toEqual([]);
  });
});
