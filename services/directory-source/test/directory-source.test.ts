import { appendFile, mkdir, utimes, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { deleteKeys, deleteTopology, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { SentStore } from '../src/adapters/sent-store.js';
import type { Version } from '../src/core/version.js';
import { Harness, SITE, metric, sleepMs } from './helpers.js';

let h: Harness;
let dir: { path: string; remove: () => Promise<void> };
let prefix: string;

beforeEach(async () => {
  prefix = uniquePrefix('dirsrc');
  dir = await tempDir('dirsrc');
  await mkdir(`${dir.path}/runs`, { recursive: true });
  h = new Harness(prefix);
  await h.start();
});

afterEach(async () => {
  await h.close();
  await deleteTopology(prefix);
  await deleteKeys(prefix);
  await dir.remove();
});

const names = (xs: Array<{ path: string }>) => xs.map((x) => x.path.slice(dir.path.length + 1)).sort();

describe('directory-source', () => {
  it('does not send a file still being written; sends it once it settled, once', async () => {
    const { source } = h.source({ root: dir.path, settleMs: 600 });
    source.start();
    const f = `${dir.path}/runs/a.bin`;
    await writeFile(f, 'x'.repeat(1000));
    // Written to more often than the settle time: never taken while it grows.
    for (let i = 0; i < 8; i++) {
      await sleepMs(200);
      await appendFile(f, 'y'.repeat(1000));
      expect(await h.collect()).toEqual([]);
    }
    const sent = await waitFor('the settled file', async () => ((await h.collect()).length > 0 || h.uploads.length > 0) && h.uploads);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ site: SITE, source: 'directory', path: f, size: 9000 });
    expect(sent[0]!.uploadId).toBe(`dir:${SITE}:runs/a.bin:9000:${sent[0]!.mtimeMs}`);
    await sleepMs(800);
    await source.tick(true);
    await source.idle();
    expect(await h.collect()).toEqual([]);
  });

  it('sends a run folder only once its marker arrives, whole, marker included', async () => {
    const { source } = h.source({ root: dir.path, settleMs: 100, markers: { names: ['RTAComplete.txt', 'CopyComplete.txt'], folder: 'run' } });
    source.start();
    const run = `${dir.path}/runs/240101_M0001_0001`;
    await mkdir(`${run}/Data/Intensities/L001`, { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(`${run}/Data/Intensities/L001/c${i}.bcl`, `bcl ${i}`);
    await writeFile(`${run}/RunInfo.xml`, '<RunInfo/>');
    // Far past the settle time, and a full scan: still nothing, the run has no marker.
    await sleepMs(600);
    await source.tick(true);
    await source.idle();
    expect(await h.collect()).toEqual([]);
    await writeFile(`${run}/RTAComplete.txt`, 'done');
    await waitFor('the whole run', async () => (await h.collect(), h.uploads.length >= 22 && h.uploads));
    await sleepMs(300);
    await h.collect();
    expect(names(h.uploads)).toEqual([...Array.from({ length: 20 }, (_, i) => `runs/240101_M0001_0001/Data/Intensities/L001/c${i}.bcl`), 'runs/240101_M0001_0001/RTAComplete.txt', 'runs/240101_M0001_0001/RunInfo.xml'].sort());
  });

  it('sends a file rewritten after it was sent again, as a new version', async () => {
    const { source, registry } = h.source({ root: dir.path, settleMs: 200 });
    source.start();
    const f = `${dir.path}/runs/b.csv`;
    await writeFile(f, 'v1');
    await waitFor('version 1', async () => (await h.collect(), h.uploads.length === 1));
    await writeFile(f, 'version 2, longer');
    await waitFor('version 2', async () => (await h.collect(), h.uploads.length === 2));
    const [one, two] = h.uploads;
    expect(one!.size).toBe(2);
    expect(two!.size).toBe(17);
    expect(two!.uploadId).not.toBe(one!.uploadId);
    expect(await metric(registry, 'terra_transfer_directory_files_sent_total', { version: 'changed' })).toBe(1);
    await source.tick(true);
    await source.idle();
    expect(await h.collect()).toEqual([]);
  });

  it('restarted mid-way, sends nothing twice and misses nothing', async () => {
    const files = Array.from({ length: 300 }, (_, i) => `runs/d${i % 10}/f${i}.dat`);
    for (let i = 0; i < 10; i++) await mkdir(`${dir.path}/runs/d${i}`, { recursive: true });
    for (const f of files) await writeFile(`${dir.path}/${f}`, f);
    const old = Date.now() - 60_000;
    // A slow broker, one publish at a time: the stop comes mid-way.
    const slow = { publish: async (e: Parameters<typeof h.amqp.publish>[0]) => { await sleepMs(10); await h.amqp.publish(e); } };
    const first = h.source({ root: dir.path, settleMs: 0, publishWindow: 1, amqp: slow });
    first.source.start();
    await waitFor('some sent', async () => (await metric(first.registry, 'terra_transfer_directory_files_sent_total')) >= 50, 20_000, 10);
    await first.stop();
    const before = (await h.collect(), h.uploads.length);
    expect(before).toBeLessThan(300);
    // A new file while the source is down, and one that changed: the restart finds both.
    await writeFile(`${dir.path}/runs/d0/late.dat`, 'late');
    await utimes(`${dir.path}/runs/d0/late.dat`, old / 1000, old / 1000);
    const second = h.source({ root: dir.path, settleMs: 0 });
    second.source.start();
    await waitFor('every file', async () => (await h.collect(), h.uploads.length >= 301), 30_000);
    await sleepMs(300);
    await second.source.tick(true);
    await second.source.idle();
    await h.collect();
    const ids = h.uploads.map((u) => u.uploadId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(names(h.uploads)).toEqual([...files, 'runs/d0/late.dat'].sort());
  });

  it('a crash between the confirm and the record sends the same version again under the same id', async () => {
    // The record step fails as Redis would while down; the source is stopped before it succeeds.
    class FailingStore extends SentStore {
      override async record(_rel: string, _v: Version): Promise<void> {
        throw new Error('redis down');
      }
    }
    const first = h.source({ root: dir.path, settleMs: 0 }, new FailingStore(h.redis, prefix, SITE));
    await writeFile(`${dir.path}/runs/c.txt`, 'c');
    first.source.start();
    await waitFor('published', async () => (await h.collect(), h.uploads.length === 1));
    await first.stop();
    const second = h.source({ root: dir.path, settleMs: 0 });
    second.source.start();
    await waitFor('published again', async () => (await h.collect(), h.uploads.length === 2));
    expect(h.uploads[1]!.uploadId).toBe(h.uploads[0]!.uploadId);
    await sleepMs(300);
    await second.source.tick(true);
    await second.source.idle();
    expect(await h.collect()).toEqual([]);
  });

  it('polling: finds new files without inotify and without a full scan', async () => {
    const { source } = h.source({ root: dir.path, settleMs: 200, poll: true, pollIntervalMs: 200 });
    source.start();
    await waitFor('ready', () => source.ready());
    await sleepMs(300);
    await mkdir(`${dir.path}/runs/flight-7`, { recursive: true });
    await writeFile(`${dir.path}/runs/flight-7/img1.jpg`, 'jpg');
    await writeFile(`${dir.path}/runs/top.txt`, 'top');
    await waitFor('both files', async () => (await h.collect(), h.uploads.length === 2), 15_000);
    expect(names(h.uploads)).toEqual(['runs/flight-7/img1.jpg', 'runs/top.txt']);
  });

  it('is not ready while the root is missing, and takes it up when it appears', async () => {
    const root = `${dir.path}/later`;
    const { source, registry } = h.source({ root, settleMs: 0 });
    source.start();
    await sleepMs(200);
    expect(source.ready()).toBe(false);
    expect(await metric(registry, 'terra_transfer_directory_root_missing')).toBe(1);
    await mkdir(`${root}/runs`, { recursive: true });
    await writeFile(`${root}/runs/x`, 'x');
    await waitFor('ready', () => source.ready());
    await waitFor('the file', async () => (await h.collect(), h.uploads.length === 1));
  });

  it('skips hidden, non-whitelisted and excluded files', async () => {
    const { source } = h.source({ root: dir.path, settleMs: 0, exclude: ['@Recycle'] });
    await mkdir(`${dir.path}/other`, { recursive: true });
    await mkdir(`${dir.path}/runs/@Recycle`, { recursive: true });
    await writeFile(`${dir.path}/other/x`, 'x');
    await writeFile(`${dir.path}/runs/.partial`, 'x');
    await writeFile(`${dir.path}/runs/@Recycle/y`, 'y');
    await writeFile(`${dir.path}/runs/ok`, 'ok');
    source.start();
    await waitFor('ok', async () => (await h.collect(), h.uploads.length === 1));
    await sleepMs(300);
    await source.tick(true);
    await source.idle();
    await h.collect();
    expect(names(h.uploads)).toEqual(['runs/ok']);
  });
});
