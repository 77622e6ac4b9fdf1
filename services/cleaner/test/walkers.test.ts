import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@terra-transfer/testkit';
import { findOldFiles, mtimeMsFromFind } from '../src/adapters/find-source.js';
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
  return { files: files.sort(), scanned: last!.scanned, young: last!.young, stats: last!.stats, oldestYoung: last!.oldestYoungMtimeMs };
}

it('reads find timestamps as lstat does, bit for bit', () => {
  expect(mtimeMsFromFind('1732443607.1239999990')).toBe(1732443607 * 1e3 + 123999999 / 1e6);
  expect(mtimeMsFromFind('1732443607.5')).toBe(1732443607500);
  expect(mtimeMsFromFind('1732443607')).toBe(1732443607000);
});

it('the find walker and the Node walker see exactly the same files (hidden pruned, symlinks never followed, only regular files)', async () => {
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
    expect(viaFind).toMatchObject({ scanned: 7, young: 2, stats: { hidden: 3, skippedSpecial: 4, unreadableDirs: 0 } });
  } finally {
    await dir.remove();
    await outside.remove();
  }
});
