import { existsSync } from 'node:fs';
import { lstat, mkdir, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { createEvent, type FileTransferredV1 } from '@terra-transfer/contracts';
import { waitFor } from '@terra-transfer/testkit';
import { body, putFile, startHarness, v1Transferred, type Harness } from './harness.js';

const HOUR = 3_600_000;
let h: Harness;
let seq = 0;

beforeAll(async () => {
  h = await startHarness({ VERIFY_LOCAL_CHECKSUM: 'true', CHANGED_SETTLE_SECONDS: '900', EMPTY_DIR_GRACE_SECONDS: '600', DELETE_PARENT_DEPTH: '2' });
});
afterAll(async () => {
  await h?.close();
});

function transferred(path: string, v: { size: number; mtimeMs: number }, checksum: string | null): FileTransferredV1['data'] {
  return {
    site: 'ua-mac', sensor: 'stereoTop', path, sourcePath: path, destinationPath: `/dest${path}`, size: v.size, mtimeMs: v.mtimeMs,
    checksum, checksumAlgorithm: checksum ? 'MD5' : null, taskId: `task-${++seq}`, uploadId: `xferlog:abc:${seq}`, attempt: 1,
  };
}
/** Published as version 1, one file per event: the cleaner still accepts it (decision 0053); chunks below. */
const publish = (data: FileTransferredV1['data'], id = `tr-${++seq}`) => h.amqp.publish(v1Transferred(id, data));
/** Published as one version-2 chunk. */
const publishChunk = (files: ReadonlyArray<FileTransferredV1['data']>, id = `chunk-${++seq}`) => h.amqp.publish(createEvent('file.transferred', id, {
  site: 'ua-mac', taskId: files[0]!.taskId, chunk: 0, files: files.map(({ site: _s, taskId: _t, ...f }) => f),
}));

/** A file with an in-flight ledger record, as the batcher leaves it. */
async function uploaded(rel: string, content: string, mtimeMs = Date.now() - HOUR) {
  const path = `${h.root}/${rel}`;
  const f = await putFile(path, content, mtimeMs);
  const file = { path, size: f.size, mtimeMs: f.mtimeMs, uploadId: `xferlog:abc:${rel}`, attempt: 1, site: 'ua-mac', sensor: 'stereoTop' };
  await h.ledger.claim('batch-1', [file]);
  await h.ledger.markInFlight([path], 'batch-1', 'task-x');
  return { path, ...f };
}

const deadLetters = async () => (await h.messages('cleanerDlq')).map((m) => ({ code: m.properties.headers?.['x-terra-error-code'] as string, path: body(m).data['path'] }));

describe('cleaner: deleting verified files', () => {
  it('deletes a verified file, removes its emptied parents (not the whitelisted root), publishes file.deleted, records it', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin', 'left image bytes');
    // Directories last touched an hour ago: older than the grace period.
    const old = (Date.now() - HOUR) / 1000;
    await utimes(`${h.root}/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195`, old, old);
    await utimes(`${h.root}/MovingSensor/stereoTop/2016-08-02`, old, old);
    const ev = transferred(f.path, f, f.md5);
    await publish(ev, 'verified-1');

    const deleted = await waitFor('file.deleted', async () => (await h.messages('outcomes')).find((m) => body(m).data['path'] === f.path));
    expect(body(deleted).data).toMatchObject({ path: f.path, bytesFreed: f.size, taskId: ev.taskId, uploadId: ev.uploadId, site: 'ua-mac' });
    expect(existsSync(f.path)).toBe(false);
    expect(existsSync(`${h.root}/MovingSensor/stereoTop/2016-08-02`)).toBe(false);
    expect(existsSync(`${h.root}/MovingSensor/stereoTop`)).toBe(true);
    expect((await h.ledger.get(f.path))?.state).toBe('deleted');
    expect(await h.metric('terra_transfer_cleaner_freed_bytes_total')).toBe(f.size);

    // Redelivery of the same event: nothing happens (no unlink, no second file.deleted, no dead letter).
    await publish(ev, 'verified-1');
    await waitFor('redelivery handled', async () => (await h.metric('terra_transfer_cleaner_deletions_total', { outcome: 'already_deleted' })) === 1);
    expect((await h.messages('outcomes')).filter((m) => body(m).data['path'] === f.path)).toHaveLength(1);
    expect((await deadLetters()).filter((d) => d.path === f.path)).toEqual([]);
    expect((await h.ledger.get(f.path))?.state).toBe('deleted');
    expect(await h.metric('terra_transfer_cleaner_freed_bytes_total')).toBe(f.size);
  });

  it('keeps a parent directory touched within the grace period', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-03/2016-08-03__10-00-00-000/right.bin', 'right');
    await publish(transferred(f.path, f, f.md5));
    await waitFor('file.deleted', async () => (await h.messages('outcomes')).find((m) => body(m).data['path'] === f.path));
    expect(existsSync(f.path)).toBe(false);
    expect(existsSync(`${h.root}/MovingSensor/stereoTop/2016-08-03/2016-08-03__10-00-00-000`)).toBe(true);
  });

  it('does not delete a file changed after upload, and sends it again as a new upload', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-04/2016-08-04__10-00-00-000/left.bin', 'first version');
    // Re-uploaded after the transfer started: other bytes, other size, other mtime (older than the settle time).
    const now = await putFile(f.path, 'second, longer version', Date.now() - 30 * 60_000);
    await publish(transferred(f.path, f, f.md5));

    const sent = await waitFor('file.uploaded', async () => (await h.messages('batcherUploads')).find((m) => body(m).data['path'] === f.path));
    expect(body(sent).data).toMatchObject({ path: f.path, size: now.size, mtimeMs: now.mtimeMs, source: 'sweep', attempt: 1, ftpTime: null, sensor: 'stereoTop', site: 'ua-mac' });
    expect(body(sent).id).toBe(`sweep:${f.path}:${now.size}:${now.mtimeMs}`);
    expect(existsSync(f.path)).toBe(true);
    expect(await h.ledger.get(f.path)).toMatchObject({ state: 'pending', size: now.size, mtimeMs: now.mtimeMs });
    expect((await h.messages('outcomes')).filter((m) => body(m).data['path'] === f.path)).toEqual([]);
  });

  it('leaves a file changed moments ago to the log (an upload may be in progress)', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-05/2016-08-05__10-00-00-000/left.bin', 'first');
    await putFile(f.path, 'being uploaded...', Date.now());
    await publish(transferred(f.path, f, f.md5));
    await waitFor('handled', async () => (await h.metric('terra_transfer_cleaner_deletions_total', { outcome: 'changed_recent' })) === 1);
    expect(existsSync(f.path)).toBe(true);
    expect((await h.messages('batcherUploads')).filter((m) => body(m).data['path'] === f.path)).toEqual([]);
  });

  it('never deletes an unverified transfer (dead-lettered UNVERIFIED_TRANSFER)', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-06/2016-08-06__10-00-00-000/left.bin', 'unverified');
    await publish(transferred(f.path, f, null));
    await waitFor('dead letter', async () => (await deadLetters()).find((d) => d.path === f.path && d.code === 'UNVERIFIED_TRANSFER'));
    expect(existsSync(f.path)).toBe(true);
  });

  it('never deletes when the local checksum differs from the verified one', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-06/2016-08-06__11-00-00-000/left.bin', 'corrupted');
    await publish(transferred(f.path, f, 'd41d8cd98f00b204e9800998ecf8427e'));
    await waitFor('dead letter', async () => (await deadLetters()).find((d) => d.path === f.path && d.code === 'CHECKSUM_MISMATCH'));
    expect(existsSync(f.path)).toBe(true);
  });

  it('handles a chunk file by file: a refused file is dead-lettered alone, its chunk-mates are deleted, one file.deleted names both; a redelivery changes nothing', async () => {
    const good = await uploaded('MovingSensor/stereoTop/2016-08-09/2016-08-09__10-00-00-000/a.bin', 'good a');
    const good2 = await uploaded('MovingSensor/stereoTop/2016-08-09/2016-08-09__10-00-00-000/b.bin', 'good b');
    const bad = await uploaded('MovingSensor/stereoTop/2016-08-09/2016-08-09__10-00-00-000/c.bin', 'bad c');
    const files = [transferred(good.path, good, good.md5), transferred(bad.path, bad, 'd41d8cd98f00b204e9800998ecf8427e'), transferred(good2.path, good2, good2.md5)];
    await publishChunk(files, 'chunk-mixed');
    const outcome = await waitFor('file.deleted chunk', async () => (await h.messages('outcomes')).find((m) => body(m).data['taskId'] === files[0]!.taskId));
    const data = (JSON.parse(outcome.content.toString()) as { version: number; data: { files: Array<{ path: string }>; failed: Array<{ path: string; code: string }> } });
    expect(data.version).toBe(2);
    expect(data.data.files.map((f) => f.path).sort()).toEqual([good.path, good2.path].sort());
    expect(data.data.failed).toEqual([expect.objectContaining({ path: bad.path, code: 'CHECKSUM_MISMATCH' })]);
    expect(existsSync(good.path) || existsSync(good2.path)).toBe(false);
    expect(existsSync(bad.path)).toBe(true);
    const dead = await waitFor('the bad file alone in the dead-letter queue', async () => (await h.messages('cleanerDlq')).find((m) => body(m).data['path'] === bad.path));
    const deadEvent = JSON.parse(dead.content.toString()) as { version: number; data: { files: unknown[] } };
    expect(deadEvent.version).toBe(2);
    expect(deadEvent.data.files).toHaveLength(1);
    expect(dead.properties.headers?.['x-terra-part-of']).toBe('chunk-mixed');
    expect((await h.ledger.getMany([good.path, good2.path, bad.path])).map((r) => r?.state)).toEqual(['deleted', 'deleted', 'in_flight']);
  });

  it('never deletes when this Node cannot compute the verified checksum\'s algorithm (asked of crypto.getHashes, not read from an error text)', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-06/2016-08-06__12-00-00-000/left.bin', 'unknown digest');
    await publish({ ...transferred(f.path, f, f.md5), checksumAlgorithm: 'NO-SUCH-DIGEST' });
    const dead = await waitFor('dead letter', async () => (await h.messages('cleanerDlq')).find((m) => body(m).data['path'] === f.path));
    expect(dead.properties.headers?.['x-terra-error-code']).toBe('CHECKSUM_MISMATCH');
    expect(dead.properties.headers?.['x-terra-error-detail']).toBe('cannot compute NO-SUCH-DIGEST locally');
    expect(existsSync(f.path)).toBe(true);
  });

  it('never follows nor deletes a symlink, a symlinked directory or a .. path leading out of the cache', async () => {
    const target = await putFile(`${h.outside}/target.bin`, 'precious data outside the cache', Date.now() - HOUR);
    const targetDir = await putFile(`${h.outside}/dir/target.bin`, 'more precious data', Date.now() - HOUR);
    // 1. The file itself is a symlink to a file outside.
    const link = `${h.root}/MovingSensor/stereoTop/2016-08-07/2016-08-07__10-00-00-000/left.bin`;
    await mkdir(`${h.root}/MovingSensor/stereoTop/2016-08-07/2016-08-07__10-00-00-000`, { recursive: true });
    await symlink(`${h.outside}/target.bin`, link);
    // 2. A directory component is a symlink to a directory outside.
    await mkdir(`${h.root}/MovingSensor/stereoTop/2016-08-08`, { recursive: true });
    await symlink(`${h.outside}/dir`, `${h.root}/MovingSensor/stereoTop/2016-08-08/2016-08-08__10-00-00-000`);
    const viaDir = `${h.root}/MovingSensor/stereoTop/2016-08-08/2016-08-08__10-00-00-000/target.bin`;
    // 3. A path that climbs out with "..".
    const dotdot = `${h.root}/MovingSensor/stereoTop/../../../outside/target.bin`;

    await publish(transferred(link, target, target.md5));
    await publish(transferred(viaDir, targetDir, targetDir.md5));
    await publish(transferred(dotdot, target, target.md5));

    const dl = await waitFor('three dead letters', async () => {
      const all = (await deadLetters()).filter((d) => [link, viaDir, dotdot].includes(d.path as string));
      return all.length === 3 ? all : undefined;
    });
    expect(Object.fromEntries(dl.map((d) => [d.path, d.code]))).toEqual({ [link]: 'NOT_A_REGULAR_FILE', [viaDir]: 'UNSAFE_PATH', [dotdot]: 'UNSAFE_PATH' });
    expect(existsSync(`${h.outside}/target.bin`)).toBe(true);
    expect(existsSync(`${h.outside}/dir/target.bin`)).toBe(true);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(`${h.outside}/target.bin`);
    expect((await h.messages('outcomes')).filter((m) => [link, viaDir, dotdot].includes(body(m).data['path'] as string))).toEqual([]);
    expect(await h.metric('terra_transfer_cleaner_deletions_total', { outcome: 'refused_unsafe_path' })).toBe(2);
  });

  it('finishes the bookkeeping when the file is already gone (crash between unlink and publish)', async () => {
    const f = await uploaded('MovingSensor/stereoTop/2016-08-09/2016-08-09__10-00-00-000/left.bin', 'gone');
    await writeFile(`${f.path}.tmp`, 'x'); // a sibling keeps the directory
    const { unlink } = await import('node:fs/promises');
    await unlink(f.path);
    await publish(transferred(f.path, f, f.md5));
    const deleted = await waitFor('file.deleted', async () => (await h.messages('outcomes')).find((m) => body(m).data['path'] === f.path));
    expect(body(deleted).data['bytesFreed']).toBe(0);
    expect((await h.ledger.get(f.path))?.state).toBe('deleted');
  });
});
