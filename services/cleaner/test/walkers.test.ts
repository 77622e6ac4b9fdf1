import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@terra-transfer/testkit';
import { ConfigError } from '@terra-transfer/platform';
import { assertTreeWalkBuilt, findOldFiles, mtimeMsFromFind, treeWalkOldFiles } from '../src/adapters/walk-process.js';
import { walkOldFiles } from '../src/adapters/walk-source.js';
import type { WalkMessage } from '../src/adapters/walk-source.js';

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

it('tree-walk, GNU find and the Node walker see exactly the same files (hidden pruned, symlinks never followed, only regular files)', async () => {
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
    const viaNode = await collect(walkOldFiles(params));
    const viaTreeWalk = await collect(treeWalkOldFiles(params));
    // mtimes are compared exactly: both walkers must name a version with the same number lstat gives.
    const mt = (rel: string) => lstatSync(join(root, rel)).mtimeMs;
    expect(viaFind.files).toEqual([
      `LemnaTec/EnvironmentLogger/2016-04-05/env.json 2 ${mt('LemnaTec/EnvironmentLogger/2016-04-05/env.json')}`,
      `LemnaTec/EnvironmentLogger/top-level.json 3 ${mt('LemnaTec/EnvironmentLogger/top-level.json')}`,
      `MovingSensor/stereoTop/2016-08-03/ts/other-day.bin 4 ${mt('MovingSensor/stereoTop/2016-08-03/ts/other-day.bin')}`,
      `MovingSensor/stereoTop/2016-08-02/ts/name with space\nand newline.bin 1 ${mt('MovingSensor/stereoTop/2016-08-02/ts/name with space\nand newline.bin')}`,
      `MovingSensor/stereoTop/2016-08-02/ts/old.bin 3 ${mt('MovingSensor/stereoTop/2016-08-02/ts/old.bin')}`,
    ].sort());
    expect(viaNode).toEqual(viaFind);
    expect(viaTreeWalk).toEqual(viaFind);
    expect(viaFind).toMatchObject({ scanned: 7, young: 2, stats: { hidden: 3, skippedSpecial: 4, unreadableDirs: 0 } });
  } finally {
    await dir.remove();
    await outside.remove();
  }
});

it('tree-walk: old means mtime before now - minAge to the millisecond, as the sweep verdict says', async () => {
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
    const got = await collect(treeWalkOldFiles({ realRoot: dir.path, whitelist: ['S'], minAgeMs: 2 * DAY, now, chunk: 10 }));
    expect(got.files.map((f) => f.split(' ')[0])).toEqual(['S/d/before.bin']);
    expect(got).toMatchObject({ scanned: 3, young: 2 });
  } finally {
    await dir.remove();
  }
});

it('tree-walk: a missing whitelisted directory is counted unreadable and a symlinked one is never followed, as the Node walker does', async () => {
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
    const params = { realRoot: dir.path, whitelist: ['Real', 'Missing', 'Linked'], minAgeMs: 2 * DAY, now, chunk: 10 };
    const viaTreeWalk = await collect(treeWalkOldFiles(params));
    expect(viaTreeWalk.files).toEqual([`Real/d/old.bin 1 ${lstatSync(join(dir.path, 'Real/d/old.bin')).mtimeMs}`]);
    expect(viaTreeWalk.stats).toEqual({ unreadableDirs: 1, skippedSpecial: 1, hidden: 0 });
    // The unreadable directory is named, for the sweep's warning (each walker words the reason its own way).
    const missing = join(dir.path, 'Missing');
    expect(viaTreeWalk.unreadable).toEqual([`${missing}: No such file or directory`]);
    const viaNode = await collect(walkOldFiles(params));
    expect(viaNode.unreadable).toEqual([`${missing}: ENOENT`]);
    expect({ ...viaNode, unreadable: [] }).toEqual({ ...viaTreeWalk, unreadable: [] });
    expect((await collect(findOldFiles(params))).unreadable).toEqual([`'${missing}': No such file or directory`]);
  } finally {
    await dir.remove();
    await outside.remove();
  }
});

it('tree-walk: paths longer than PATH_MAX are walked (the path buffer grows), as GNU find walks them', async () => {
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
    const viaTreeWalk = await collect(treeWalkOldFiles(params));
    expect(viaTreeWalk.files).toEqual([`S/${levels.join('/')}/old.bin 4 ${oldMtimeMs}`]);
    expect(viaTreeWalk).toMatchObject({ scanned: 2, young: 1, stats: { unreadableDirs: 0 } });
    expect(await collect(findOldFiles(params))).toEqual(viaTreeWalk);
  } finally {
    // GNU rm removes trees of any depth (Node's rm stops at PATH_MAX).
    execFileSync('rm', ['-rf', dir.path]);
  }
});

it('tree-walk: a directory more than 1,024 levels down is counted unreadable and not entered; the rest of the walk goes on', async () => {
  const dir = await tempDir('walkers-runaway');
  try {
    const now = Date.now();
    const old = (now - 5 * DAY) / 1000;
    const deep = join(dir.path, 'S', ...Array.from({ length: 1030 }, () => 'a'));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'too-deep.bin'), 'x');
    await utimes(join(deep, 'too-deep.bin'), old, old);
    await mkdir(join(dir.path, 'S/b/c'), { recursive: true });
    await writeFile(join(dir.path, 'S/b/c/shallow.bin'), 'y');
    await utimes(join(dir.path, 'S/b/c/shallow.bin'), old, old);
    const got = await collect(treeWalkOldFiles({ realRoot: dir.path, whitelist: ['S'], minAgeMs: 2 * DAY, now, chunk: 10 }));
    expect(got.files).toEqual([`S/b/c/shallow.bin 1 ${lstatSync(join(dir.path, 'S/b/c/shallow.bin')).mtimeMs}`]);
    expect(got.stats).toEqual({ unreadableDirs: 1, skippedSpecial: 0, hidden: 0 });
    expect(got.unreadable).toEqual([`${join(dir.path, 'S', ...Array.from({ length: 1025 }, () => 'a'))}: deeper than 1024 levels below the whitelisted directory: not walked`]);
  } finally {
    execFileSync('rm', ['-rf', dir.path]);
  }
});

it('tree-walk: a walker that is not built is a configuration error at start-up; a walker that fails fails the walk with its message', async () => {
  await expect(assertTreeWalkBuilt('/nonexistent/tree-walk')).rejects.toThrow(ConfigError);
  await expect(assertTreeWalkBuilt()).resolves.toBeUndefined();
  const dir = await tempDir('walkers-fail');
  try {
    await mkdir(join(dir.path, 'S'));
    // The real binary with a cutoff it refuses: exit 2 and its stderr become the sweep's error.
    const bad = collect(treeWalkOldFiles({ realRoot: dir.path, whitelist: ['S'], minAgeMs: 0, now: -5, chunk: 10 }));
    await expect(bad).rejects.toThrow(/tree-walk exited with 2: tree-walk: bad cutoff '-5'/);
  } finally {
    await dir.remove();
  }
});
