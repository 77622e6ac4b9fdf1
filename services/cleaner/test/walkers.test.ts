import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@terra-transfer/testkit';
import { findOldFiles, mtimeMsFromFind, topLevel, type WalkMessage } from '../src/adapters/find-walk.js';

const DAY = 86_400_000;

async function collect(gen: AsyncGenerator<WalkMessage>) {
  const files: string[] = [];
  let last: WalkMessage | undefined;
  for await (const m of gen) {
    if (m.type === 'chunk') for (const f of m.files) files.push(`${f.rel} ${f.size} ${f.mtimeMs}`);
    last = m;
  }
  return { files: files.sort(), scanned: last!.scanned, young: last!.young, stats: last!.stats, oldestYoung: last!.oldestYoungMtimeMs, unreadable: last!.unreadable };
}

it('reads find timestamps as lstat does, bit for bit', () => {
  expect(mtimeMsFromFind('1732443607.1239999990')).toBe(1732443607 * 1e3 + 123999999 / 1e6);
  expect(mtimeMsFromFind('1732443607.5')).toBe(1732443607500);
  expect(mtimeMsFromFind('1732443607')).toBe(1732443607000);
});

it('the find walk sees exactly the old regular files (hidden pruned at any depth, symlinks never followed, FIFOs skipped, odd names kept)', async () => {
  const dir = await tempDir('walkers');
  const outside = await tempDir('walkers-outside');
  try {
    const root = dir.path;
    const now = Date.now();
    const put = async (rel: string, body: string, mtime: number) => {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), body);
      // Sub-millisecond mtimes (as real uploads have), so float rounding would show.
      await utimes(join(root, rel), mtime / 1000 + 0.000123456, mtime / 1000 + 0.000123456);
    };
    await put('MovingSensor/stereoTop/2016-08-02/ts/old.bin', 'old', now - 3 * DAY);
    await put('MovingSensor/stereoTop/2016-08-02/ts/young.bin', 'young!', now - 1000);
    await put('MovingSensor/stereoTop/2016-08-02/ts/name with space\nand newline.bin', 'x', now - 5 * DAY);
    await put('MovingSensor/stereoTop/2016-08-02/.hidden/inside.bin', 'h', now - 5 * DAY);
    await put('MovingSensor/stereoTop/2016-08-02/.dotfile', 'h', now - 5 * DAY);
    await put('LemnaTec/EnvironmentLogger/2016-04-05/env.json', '{}', now - 4 * DAY);
    // Entries of a whitelisted root itself (the find walker's starting points): a file, a hidden one, a link.
    await put('LemnaTec/EnvironmentLogger/top-level.json', '{1}', now - 6 * DAY);
    await put('LemnaTec/EnvironmentLogger/.top-hidden.json', 'h', now - 6 * DAY);
    await put('MovingSensor/stereoTop/2016-08-03/ts/other-day.bin', 'day3', now - 3 * DAY);
    await put('MovingSensor/stereoTop/2016-08-04/ts/young-day.bin', 'day4', now - 2000);
    await put('Unsorted/not-whitelisted.bin', 'n', now - 9 * DAY);
    await writeFile(join(outside.path, 'secret.bin'), 'must not be seen');
    await utimes(join(outside.path, 'secret.bin'), (now - 9 * DAY) / 1000, (now - 9 * DAY) / 1000);
    await symlink(join(outside.path, 'secret.bin'), join(root, 'MovingSensor/stereoTop/2016-08-02/ts/link-to-file.bin'));
    await symlink(outside.path, join(root, 'MovingSensor/stereoTop/2016-08-02/link-to-dir'));
    await symlink(outside.path, join(root, 'MovingSensor/stereoTop/link-at-top'));
    execFileSync('mkfifo', [join(root, 'MovingSensor/stereoTop/2016-08-02/ts/a.fifo')]);
    const params = { realRoot: root, whitelist: ['MovingSensor/stereoTop', 'LemnaTec/EnvironmentLogger'], minAgeMs: 2 * DAY, now, chunk: 2 };

    const viaFind = await collect(findOldFiles(params));
    // mtimes are compared exactly: the walk must name a version with the same number lstat gives.
    const mt = (rel: string) => lstatSync(join(root, rel)).mtimeMs;
    expect(viaFind.files).toEqual([
      `LemnaTec/EnvironmentLogger/2016-04-05/env.json 2 ${mt('LemnaTec/EnvironmentLogger/2016-04-05/env.json')}`,
      `LemnaTec/EnvironmentLogger/top-level.json 3 ${mt('LemnaTec/EnvironmentLogger/top-level.json')}`,
      `MovingSensor/stereoTop/2016-08-03/ts/other-day.bin 4 ${mt('MovingSensor/stereoTop/2016-08-03/ts/other-day.bin')}`,
      `MovingSensor/stereoTop/2016-08-02/ts/name with space\nand newline.bin 1 ${mt('MovingSensor/stereoTop/2016-08-02/ts/name with space\nand newline.bin')}`,
      `MovingSensor/stereoTop/2016-08-02/ts/old.bin 3 ${mt('MovingSensor/stereoTop/2016-08-02/ts/old.bin')}`,
    ].sort());
    expect(viaFind).toMatchObject({ scanned: 7, young: 2, stats: { hidden: 3, skippedSpecial: 4, unreadableDirs: 0 } });
  } finally {
    await dir.remove();
    await outside.remove();
  }
});

it('old means mtime at or before now - minAge (find\'s -newermt is strictly newer); the sweep verdict checks the age again', async () => {
  const dir = await tempDir('walkers-cutoff');
  try {
    // Whole seconds, so the mtimes below are exact (utimes takes seconds as a double).
    const now = Math.floor(Date.now() / 1000) * 1000;
    const cutoff = now - 2 * DAY;
    await mkdir(join(dir.path, 'S/d'), { recursive: true });
    for (const [name, mtimeMs] of [['before.bin', cutoff - 1], ['at.bin', cutoff], ['after.bin', cutoff + 1]] as const) {
      await writeFile(join(dir.path, 'S/d', name), name);
      await utimes(join(dir.path, 'S/d', name), mtimeMs / 1000, mtimeMs / 1000);
    }
    const got = await collect(findOldFiles({ realRoot: dir.path, whitelist: ['S'], minAgeMs: 2 * DAY, now, chunk: 10 }));
    // at.bin, exactly at the cutoff, is handed on as old; sweepVerdict (mtime < cutoff) then counts it young.
    expect(got.files.map((f) => f.split(' ')[0])).toEqual(['S/d/at.bin', 'S/d/before.bin']);
    expect(got).toMatchObject({ scanned: 3, young: 1 });
  } finally {
    await dir.remove();
  }
});

it('a missing whitelisted directory is counted unreadable and named; a symlinked one is counted skipped and never followed', async () => {
  const dir = await tempDir('walkers-roots');
  const outside = await tempDir('walkers-roots-outside');
  try {
    const now = Date.now();
    await mkdir(join(dir.path, 'Real/d'), { recursive: true });
    await writeFile(join(dir.path, 'Real/d/old.bin'), 'x');
    await utimes(join(dir.path, 'Real/d/old.bin'), (now - 5 * DAY) / 1000, (now - 5 * DAY) / 1000);
    await writeFile(join(outside.path, 'secret.bin'), 'must not be seen');
    await utimes(join(outside.path, 'secret.bin'), (now - 9 * DAY) / 1000, (now - 9 * DAY) / 1000);
    await symlink(outside.path, join(dir.path, 'Linked'));
    const got = await collect(findOldFiles({ realRoot: dir.path, whitelist: ['Real', 'Missing', 'Linked'], minAgeMs: 2 * DAY, now, chunk: 10 }));
    expect(got.files).toEqual([`Real/d/old.bin 1 ${lstatSync(join(dir.path, 'Real/d/old.bin')).mtimeMs}`]);
    expect(got.stats).toEqual({ unreadableDirs: 1, skippedSpecial: 1, hidden: 0 });
    // The unreadable directory is named, for the sweep's warning.
    expect(got.unreadable).toEqual([`'${join(dir.path, 'Missing')}': No such file or directory`]);
  } finally {
    await dir.remove();
    await outside.remove();
  }
});

it('whitelist entries are walked once: duplicates, nested entries and entries that climb out or are hidden are dropped', () => {
  expect(topLevel(['W', 'W/small', '/W/', '../etc', 'a/../b', '.hidden', 'X/.git', 'V'])).toEqual(['V', 'W']);
});

it('paths longer than PATH_MAX are walked', async () => {
  const dir = await tempDir('walkers-deep');
  try {
    const now = Date.now();
    // 24 levels of 200-character names: a 4,800-byte path under the root, beyond Linux's 4,096 PATH_MAX.
    // Built short, then renamed deepest first, so no call here ever names a path that long.
    const levels = Array.from({ length: 24 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(198)}`);
    const short = join(dir.path, 'S', ...levels.map(() => 'a'));
    await mkdir(short, { recursive: true });
    await writeFile(join(short, 'old.bin'), 'old\n');
    await utimes(join(short, 'old.bin'), (now - 5 * DAY) / 1000, (now - 5 * DAY) / 1000);
    await writeFile(join(short, 'young.bin'), 'young\n');
    const oldMtimeMs = lstatSync(join(short, 'old.bin')).mtimeMs;
    for (let depth = levels.length; depth >= 1; depth--) {
      const parent = join(dir.path, 'S', ...levels.slice(0, depth - 1).map(() => 'a'));
      await rename(join(parent, 'a'), join(parent, levels[depth - 1]!));
    }
    const params = { realRoot: dir.path, whitelist: ['S'], minAgeMs: 2 * DAY, now, chunk: 10 };
    const got = await collect(findOldFiles(params));
    expect(got.files).toEqual([`S/${levels.join('/')}/old.bin 4 ${oldMtimeMs}`]);
    expect(got).toMatchObject({ scanned: 2, young: 1, stats: { unreadableDirs: 0 } });
  } finally {
    // GNU rm removes trees of any depth (Node's rm stops at PATH_MAX).
    execFileSync('rm', ['-rf', dir.path]);
  }
});

it('a walk find refuses fails with find\'s message: exit 1 is a success only when every complaint names an unreadable directory', async () => {
  const dir = await tempDir('walkers-fail');
  try {
    await mkdir(join(dir.path, 'S'));
    // A cutoff find cannot parse: it exits 1, as it does when a directory was unreadable, but its complaint
    // is not one about a directory, so the walk fails instead of counting an unreadable directory.
    const bad = collect(findOldFiles({ realRoot: dir.path, whitelist: ['S'], minAgeMs: 0, now: Number.NaN, chunk: 10 }));
    await expect(bad).rejects.toThrow(/find exited with 1: find: /);
  } finally {
    await dir.remove();
  }
});
