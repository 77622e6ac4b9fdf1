import { existsSync } from 'node:fs';
import { mkdir, rename, symlink } from 'node:fs/promises';
import { tempDir } from '@terra-transfer/testkit';
import { CacheFs, localDigest } from '../src/adapters/cache-fs.js';
import { putFile } from './harness.js';

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir('cleaner-fs');
});
afterEach(async () => {
  await dir.remove();
});

describe('localDigest', () => {
  it('maps Globus\'s digest names to what this Node computes, and an unknown one to undefined', () => {
    expect(localDigest('MD5')).toBe('md5');
    expect(localDigest('SHA-256')).toBe('sha256');
    expect(localDigest('SHA512')).toBe('sha512');
    expect(localDigest('NO-SUCH-DIGEST')).toBeUndefined();
  });
});

describe('CacheFs', () => {
  it('does not unlink a file re-uploaded between the inspection and the unlink', async () => {
    const root = `${dir.path}/cache`;
    const f = await putFile(`${root}/S/2016-01-01/a.bin`, 'v1', Date.now() - 3600_000);
    const fs = await CacheFs.open(root);
    const ins = await fs.inspect(`${root}/S/2016-01-01/a.bin`);
    expect(ins.disk).toEqual({ kind: 'file', size: f.size, mtimeMs: f.mtimeMs });
    await putFile(`${root}/S/2016-01-01/a.bin`, 'v2', Date.now());
    const res = await fs.unlinkIfUnchanged(ins.target, f);
    expect(res).toMatchObject({ deleted: false, disk: { kind: 'file', size: 2 } });
    expect(existsSync(`${root}/S/2016-01-01/a.bin`)).toBe(true);
  });

  it('works when the cache root itself is a symlink to the volume, and still refuses paths through symlinks below it', async () => {
    const volume = `${dir.path}/volume`;
    await mkdir(volume);
    await symlink(volume, `${dir.path}/cache`);
    const root = `${dir.path}/cache`;
    const f = await putFile(`${volume}/S/2016-01-01/a.bin`, 'x', Date.now() - 3600_000);
    const fs = await CacheFs.open(root);
    const ins = await fs.inspect(`${root}/S/2016-01-01/a.bin`);
    expect(ins.target).toBe(`${volume}/S/2016-01-01/a.bin`);
    expect(await fs.unlinkIfUnchanged(ins.target, f)).toEqual({ deleted: true });

    await mkdir(`${dir.path}/elsewhere`);
    await symlink(`${dir.path}/elsewhere`, `${volume}/S/linked`);
    await expect(fs.inspect(`${root}/S/linked/b.bin`)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
  });

  it('gives files of one directory inspected at the same time their own targets and disk state, and walks afresh once a walk settled', async () => {
    const root = `${dir.path}/cache`;
    const a = await putFile(`${root}/S/d/a.bin`, 'aa', Date.now() - 3600_000);
    const b = await putFile(`${root}/S/d/b.bin`, 'bbb', Date.now() - 3600_000);
    const fs = await CacheFs.open(root);
    const [ia, ib, ic] = await Promise.all([fs.inspect(`${root}/S/d/a.bin`), fs.inspect(`${root}/S/d/b.bin`), fs.inspect(`${root}/S/d/c.bin`)]);
    expect(ia).toMatchObject({ rel: 'S/d/a.bin', target: `${root}/S/d/a.bin`, disk: { kind: 'file', size: a.size, mtimeMs: a.mtimeMs } });
    expect(ib).toMatchObject({ rel: 'S/d/b.bin', target: `${root}/S/d/b.bin`, disk: { kind: 'file', size: b.size, mtimeMs: b.mtimeMs } });
    expect(ic.disk).toEqual({ kind: 'missing' });
    expect([...ia.dirMtimes.keys()]).toEqual(['S', 'S/d']);

    // The directory replaced by a symlink after those walks settled: the next inspections see it, every one of them.
    await rename(`${root}/S/d`, `${dir.path}/moved`);
    await symlink(`${dir.path}/moved`, `${root}/S/d`);
    const again = await Promise.allSettled([fs.inspect(`${root}/S/d/a.bin`), fs.inspect(`${root}/S/d/b.bin`)]);
    for (const r of again) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'UNSAFE_PATH' } });
  });
});
