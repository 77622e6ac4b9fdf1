/**
 * End to end with the real thing: a private vsftpd writes a real xferlog,
 * files are uploaded with curl (and a raw FTP client for aborts and a long
 * session), the log is rotated mid-stream by the real logrotate binary, first
 * with create + compress + delaycompress, then with copytruncate. Every
 * completed upload into a whitelisted directory must be published exactly
 * once; nothing else may be.
 *
 * Needs test/setup/install-ftp-tools.sh (vsftpd, logrotate, curl, the FTP user).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { decode } from '@terra-transfer/contracts';
import { AMQP_URL, deleteTopology, drainQueue, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { abortedUpload, openSession } from '@terra-transfer/testkit';
import { FTP_PASS, FTP_USER, curlUpload, logrotate, startVsftpd, type Vsftpd } from '@terra-transfer/testkit';
import { metric, startTailer, type TestTailer } from './helpers/tailer.js';

jest.setTimeout(120_000);

const WL = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
const OTHER = 'Private/notes/2016-08-02';

let v: Vsftpd;
let t: TestTailer | undefined;
let src: { path: string; remove: () => Promise<void> };
const prefix = uniquePrefix('tailer-ftp');

beforeAll(async () => {
  v = await startVsftpd('vsftpd-it');
  src = await tempDir('ftp-src');
});
afterAll(async () => {
  await t?.stop();
  await deleteTopology(prefix);
  await v?.stop();
  await src?.remove();
});

it('publishes every completed whitelisted upload across create and copytruncate rotations, with aborts and a long session', async () => {
  const logDir = join(v.dir, 'log');
  const stateFile = join(v.dir, 'logrotate.state');
  const confCreate = join(v.dir, 'logrotate-create.conf');
  const confCopy = join(v.dir, 'logrotate-copytruncate.conf');
  writeFileSync(confCreate, `${v.logPath} {\n  rotate 9\n  create\n  compress\n  delaycompress\n  missingok\n}\n`);
  writeFileSync(confCopy, `${v.logPath} {\n  rotate 9\n  copytruncate\n  compress\n  delaycompress\n  missingok\n}\n`);

  // The log does not exist before the first FTP session: the tailer must wait for it.
  t = await startTailer({ prefix, logPath: v.logPath, cacheRoot: v.cacheRoot, stateDir: join(v.dir, 'state'), whitelist: ['MovingSensor/stereoTop'], rotateWaitMs: 4_000 });

  const expected = new Map<string, number>(); // real path → size
  let n = 0;
  const upload = async (dir: string, name: string, whitelisted: boolean) => {
    const local = join(src.path, `src-${n++}`);
    const size = 100 + (n % 7) * 1000;
    writeFileSync(local, Buffer.alloc(size, n % 256));
    await curlUpload(v, local, `/${dir}/${encodeURIComponent(name)}`);
    if (whitelisted) expected.set(join(v.cacheRoot, dir, name), size);
  };
  const aborted = async (name: string) => abortedUpload(v.port, FTP_USER, FTP_PASS, `/${WL}/${name}`, 150_000);

  // A long session opened now keeps vsftpd's log descriptor on today's file.
  const long = await openSession(v.port, FTP_USER, FTP_PASS);
  const longUpload = async (name: string) => {
    const body = Buffer.alloc(500 + n, 7);
    n++;
    await long.upload(`/${WL}/${name}`, body);
    expected.set(join(v.cacheRoot, WL, name), body.length);
  };

  for (let i = 0; i < 6; i++) await upload(WL, `pre-${i}.bin`, true);
  await upload(OTHER, 'not-listed.bin', false);
  await aborted('aborted-1.bin');
  await longUpload('long-0.bin');
  await upload(WL, 'with space é.bin', true); // logged as with_space_??.bin

  // Rotation 1: create + compress + delaycompress (xferlog → xferlog.1).
  await logrotate(confCreate, stateFile);
  // Each rotation is seen before the next one (two rotations between two looks would be one rename to the tailer).
  const renames = () => metric(t!.registry, 'terra_transfer_xferlog_rotations_total', { kind: 'rename' });
  await waitFor('first rotation noticed', async () => (await renames()) >= 1, 15_000, 50);
  for (let i = 0; i < 5; i++) await upload(WL, `mid-${i}.bin`, true); // new sessions: the new xferlog
  await longUpload('long-1.bin'); // the long session: still the rotated xferlog.1
  await aborted('aborted-2.bin');
  await longUpload('long-2.bin');

  // Rotation 2: xferlog.1 → xferlog.2.gz (delayed compression), xferlog → xferlog.1.
  await logrotate(confCreate, stateFile);
  await waitFor('second rotation noticed', async () => (await renames()) >= 2, 15_000, 50);
  for (let i = 0; i < 5; i++) await upload(WL, `late-${i}.bin`, true);
  await longUpload('long-3.bin'); // written to an inode that no longer has a name

  // Rotation 3: copytruncate.
  await logrotate(confCopy, stateFile);
  for (let i = 0; i < 5; i++) await upload(WL, `post-${i}.bin`, true);
  await upload(OTHER, 'not-listed-2.bin', false);
  await aborted('aborted-3.bin');
  await longUpload('long-4.bin');
  await long.close();

  const names = readdirSync(logDir).sort();
  expect(names).toEqual(expect.arrayContaining(['xferlog', 'xferlog.1', 'xferlog.2.gz', 'xferlog.3.gz']));
  // vsftpd really wrote the long session's line after rotation 1 into the rotated file (three rotations later: xferlog.3.gz).
  const gen2 = gunzipSync(readFileSync(join(logDir, 'xferlog.3.gz'))).toString('latin1');
  expect(gen2).toMatch(/long-1\.bin/);
  expect(gen2).toMatch(/pre-0\.bin/);
  expect(gen2).not.toMatch(/mid-0\.bin/);
  // The aborts really were logged as incomplete, and their partial files exist (they must not be published).
  expect(statSync(join(v.cacheRoot, WL, 'aborted-1.bin')).size).toBeGreaterThan(0);

  await waitFor('every completed upload published', async () => (await metric(t!.registry, 'terra_transfer_xferlog_events_published_total')) >= expected.size, 30_000, 200);
  await new Promise((r) => setTimeout(r, 1000)); // nothing more may come
  const events = (await drainQueue(AMQP_URL, t.uploadsQueue)).map((m) => decode('file.uploaded', m.content));
  const got = new Map<string, number>();
  for (const e of events) got.set(e.data.path, (got.get(e.data.path) ?? 0) + 1);
  expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
  expect([...got.values()].every((c) => c === 1)).toBe(true);
  for (const e of events) expect(e.data.size).toBe(expected.get(e.data.path));

  expect(await metric(t.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'incomplete_upload' })).toBe(3);
  expect(await metric(t.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'not_whitelisted' })).toBe(2);
  expect(await metric(t.registry, 'terra_transfer_xferlog_rotations_total', { kind: 'rename' })).toBeGreaterThanOrEqual(2);
  expect(await metric(t.registry, 'terra_transfer_xferlog_rotations_total', { kind: 'copytruncate' })).toBe(1);
  // Keep a copy of what vsftpd wrote, for debugging failures.
  expect(readFileSync(v.logPath, 'latin1')).toMatch(/post-4\.bin/);
});
