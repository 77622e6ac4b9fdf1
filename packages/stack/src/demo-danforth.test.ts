import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { tempDir } from '@terra-transfer/testkit';
import { pngProblem } from './demo-danforth.js';

/** A PNG as the lemnatec source encodes one (sharp, one grey channel, 16-bit kept as 16-bit). */
async function png(raw: Buffer, width: number, height: number, bits: 8 | 16): Promise<Buffer> {
  const pixels = bits === 8 ? raw : new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace(bits === 16 ? 'grey16' : 'b-w').png({ compressionLevel: 1 }).toBuffer();
}

describe('the demo\'s Danforth check (a destination PNG against its blob)', () => {
  it.each([8, 16] as const)('passes the %i-bit PNG of a blob and fails one pixel off, another size, or another file', async (bits) => {
    const dir = await tempDir('demo-df');
    try {
      const [w, h] = [37, 23];
      const raw = Buffer.alloc(w * h * (bits / 8));
      for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + (i >> 3)) & 0xff;
      const blob = join(dir.path, 'blob100001');
      await writeFile(blob, zipSync({ data: raw }, { level: 0 }));
      expect(await pngProblem(await png(raw, w, h, bits), blob)).toBeNull();

      const off = Buffer.from(raw);
      off[off.length - 1] = off[off.length - 1]! ^ 1;
      expect(await pngProblem(await png(off, w, h, bits), blob)).toBe('pixels differ from the blob');
      expect(await pngProblem(await png(raw.subarray(0, (w - 1) * h * (bits / 8)), w - 1, h, bits), blob)).toMatch(/the blob holds/);
      await expect(pngProblem(Buffer.from('{"not":"a png"}'), blob)).rejects.toThrow();
    } finally {
      await dir.remove();
    }
  });
});
