/**
 * Name resolution on real files: lossy names, ambiguity, the cache-root
 * boundary, and the batch rule (directory facts are taken again in each batch,
 * the file itself on every line).
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@terra-transfer/testkit';
import { Resolver } from '../src/adapters/resolver.js';

let dir: { path: string; remove: () => Promise<void> };
let cache: string;
let outside: string;
const DAY = 'MovingSensor/stereoTop/2016-08-02';

beforeEach(async () => {
  dir = await tempDir('resolver');
  cache = join(dir.path, 'cache');
  outside = join(dir.path, 'outside');
  mkdirSync(join(cache, DAY), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.bin'), 'x');
});
afterEach(() => dir.remove());

const resolver = () => new Resolver(cache, { ftpRoot: '/', userRoots: { maricopa: 'gantry' } }, 2048, 60_000);

it('resolves lossy names to the one real file, reports gone, ambiguous and not-a-file', () => {
  writeFileSync(join(cache, DAY, 'a b.bin'), '12345');
  writeFileSync(join(cache, DAY, 'caf\u00e9.bin'), '');
  writeFileSync(join(cache, DAY, 'x y.bin'), '');
  writeFileSync(join(cache, DAY, 'x_y.bin'), '');
  mkdirSync(join(cache, DAY, 'sub_dir'));
  const r = resolver();
  const found = r.resolve(`/${DAY}/a_b.bin`, 'u');
  expect(found).toMatchObject({ kind: 'found', path: join(cache, DAY, 'a b.bin'), relPath: `${DAY}/a b.bin` });
  expect(found.kind === 'found' && found.stats.size).toBe(5);
  // vsftpd writes one ? per byte of a UTF-8 character.
  expect(r.resolve(`/${DAY}/caf??.bin`, 'u')).toMatchObject({ kind: 'found', path: join(cache, DAY, 'caf\u00e9.bin') });
  expect(r.resolve(`/${DAY}/x_y.bin`, 'u')).toMatchObject({ kind: 'ambiguous' });
  expect(r.resolve(`/${DAY}/missing.bin`, 'u')).toEqual({ kind: 'gone' });
  expect(r.resolve(`/${DAY}/sub_dir`, 'u')).toEqual({ kind: 'rejected', reason: 'not_a_file' });
  expect(r.resolve('/../outside/secret.bin', 'u')).toEqual({ kind: 'rejected', reason: 'escapes_root' });
});

it('maps a chrooted user onto its directory of the cache', () => {
  mkdirSync(join(cache, 'gantry', DAY), { recursive: true });
  writeFileSync(join(cache, 'gantry', DAY, 'f.bin'), '');
  expect(resolver().resolve(`/${DAY}/f.bin`, 'maricopa')).toMatchObject({ kind: 'found', relPath: `gantry/${DAY}/f.bin` });
});

it('reuses a walk only for the same directory part, user and batch: other users, `..` leaves and other roots resolve on their own', () => {
  mkdirSync(join(cache, 'gantry', DAY), { recursive: true });
  writeFileSync(join(cache, 'gantry', DAY, 'f.bin'), 'g');
  writeFileSync(join(cache, DAY, 'f.bin'), 'plain');
  writeFileSync(join(cache, DAY, 'h.bin'), '');
  const r = resolver();
  // One batch, consecutive lines naming the same logged directory.
  expect(r.resolve(`/${DAY}/f.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/f.bin` });
  expect(r.resolve(`/${DAY}/f.bin`, 'maricopa')).toMatchObject({ kind: 'found', relPath: `gantry/${DAY}/f.bin` });
  expect(r.resolve(`/${DAY}/h.bin`, 'maricopa')).toEqual({ kind: 'gone' });
  expect(r.resolve(`/${DAY}/h.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/h.bin` });
  // A leaf that moves the parent: `..` and `.` are mapped, not appended.
  expect(r.resolve(`/${DAY}/..`, 'u')).toEqual({ kind: 'rejected', reason: 'not_a_file' });
  expect(r.resolve(`/${DAY}/.`, 'u')).toEqual({ kind: 'rejected', reason: 'not_a_file' });
  expect(r.resolve(`/${DAY}/f.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/f.bin` });
  // An FTP root that is a prefix of the directory part, and a name beside it outside the root.
  const rooted = new Resolver(cache, { ftpRoot: '/data', userRoots: {} }, 2048, 60_000);
  expect(rooted.resolve(`/data/${DAY}/f.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/f.bin` });
  expect(rooted.resolve(`/data/${DAY}/h.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/h.bin` });
  expect(rooted.resolve('/dataX/f.bin', 'u')).toEqual({ kind: 'rejected', reason: 'outside_ftp_root' });
  expect(rooted.resolve('/data', 'u')).toEqual({ kind: 'rejected', reason: 'empty' });
});

it('never follows a symlink out of the cache root, for a file or a directory', () => {
  symlinkSync(join(outside, 'secret.bin'), join(cache, DAY, 'link.bin'));
  symlinkSync(outside, join(cache, DAY, 'linked_dir'));
  writeFileSync(join(cache, DAY, 'inside.bin'), 'in');
  symlinkSync(join(cache, DAY, 'inside.bin'), join(cache, DAY, 'alias.bin'));
  const r = resolver();
  expect(r.resolve(`/${DAY}/link.bin`, 'u')).toEqual({ kind: 'rejected', reason: 'outside_cache_root' });
  expect(r.resolve(`/${DAY}/linked_dir/secret.bin`, 'u')).toEqual({ kind: 'rejected', reason: 'outside_cache_root' });
  // A link that stays inside resolves to its target.
  expect(r.resolve(`/${DAY}/alias.bin`, 'u')).toMatchObject({ kind: 'found', path: join(cache, DAY, 'inside.bin') });
});

it('looks at the file itself on every line: deleted or replaced by a link within one batch', () => {
  writeFileSync(join(cache, DAY, 'f_1.bin'), '');
  const r = resolver();
  r.beginBatch();
  expect(r.resolve(`/${DAY}/f_1.bin`, 'u')).toMatchObject({ kind: 'found' });
  unlinkSync(join(cache, DAY, 'f_1.bin'));
  expect(r.resolve(`/${DAY}/f_1.bin`, 'u')).toEqual({ kind: 'gone' });
  symlinkSync(join(outside, 'secret.bin'), join(cache, DAY, 'f_1.bin'));
  expect(r.resolve(`/${DAY}/f_1.bin`, 'u')).toEqual({ kind: 'rejected', reason: 'outside_cache_root' });
});

it('takes directory facts again in the next batch: a new twin name, a directory swapped for a link out of the root', () => {
  writeFileSync(join(cache, DAY, 'a_b.bin'), '');
  const r = resolver();
  r.beginBatch();
  expect(r.resolve(`/${DAY}/a_b.bin`, 'u')).toMatchObject({ kind: 'found' });
  writeFileSync(join(cache, DAY, 'a b.bin'), '');
  r.beginBatch();
  expect(r.resolve(`/${DAY}/a_b.bin`, 'u')).toMatchObject({ kind: 'ambiguous' });

  mkdirSync(join(outside, 'day'));
  writeFileSync(join(outside, 'day', 'g.bin'), '');
  writeFileSync(join(cache, DAY, 'g.bin'), '');
  expect(r.resolve(`/${DAY}/g.bin`, 'u')).toMatchObject({ kind: 'found', path: join(cache, DAY, 'g.bin') });
  // The day directory moves away and a link out of the root takes its name.
  renameSync(join(cache, DAY), join(dir.path, 'moved'));
  rmSync(join(dir.path, 'moved'), { recursive: true });
  symlinkSync(join(outside, 'day'), join(cache, DAY));
  r.beginBatch();
  expect(r.resolve(`/${DAY}/g.bin`, 'u')).toEqual({ kind: 'rejected', reason: 'outside_cache_root' });
});

it('takes directory facts again after maxFactAgeMs even without a new batch', async () => {
  writeFileSync(join(cache, DAY, 'a_b.bin'), '');
  const r = new Resolver(cache, { ftpRoot: '/', userRoots: {} }, 2048, 20);
  r.beginBatch();
  expect(r.resolve(`/${DAY}/a_b.bin`, 'u')).toMatchObject({ kind: 'found' });
  writeFileSync(join(cache, DAY, 'a b.bin'), '');
  await new Promise((res) => setTimeout(res, 40));
  expect(r.resolve(`/${DAY}/a_b.bin`, 'u')).toMatchObject({ kind: 'ambiguous' });
});

it('keeps resolving correctly when the listing cache is over its bounds (oldest listings dropped and read again)', () => {
  for (const d of ['d_1', 'd_2', 'd_3']) {
    mkdirSync(join(cache, DAY, d));
    for (const f of ['a_1.bin', 'a_2.bin']) writeFileSync(join(cache, DAY, d, f), d);
  }
  writeFileSync(join(cache, DAY, 'd_2', 'a 1.bin'), '');
  const r = new Resolver(cache, { ftpRoot: '/', userRoots: {} }, 2, 60_000, 3);
  for (let round = 0; round < 3; round++) {
    r.beginBatch();
    expect(r.resolve(`/${DAY}/d_1/a_2.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/d_1/a_2.bin` });
    expect(r.resolve(`/${DAY}/d_2/a_1.bin`, 'u')).toMatchObject({ kind: 'ambiguous' });
    expect(r.resolve(`/${DAY}/d_3/a_1.bin`, 'u')).toMatchObject({ kind: 'found', relPath: `${DAY}/d_3/a_1.bin` });
  }
});
