/**
 * The names a real vsftpd logs lossily or unnormalised: a STOR of a path
 * written with `./` or `//` (logged as written), and `a b.bin` then `a_b.bin`
 * (both logged `a_b.bin`). Each completed upload must be sent once, to the
 * right file, and nothing dead-lettered.
 *
 * Needs test/setup/install-ftp-tools.sh (vsftpd, curl, the FTP user).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { decode } from '@terra-transfer/contracts';
import { AMQP_URL, deleteTopology, drainQueue, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { FTP_PASS, FTP_USER, curlUpload, openSession, startVsftpd, type Vsftpd } from '@terra-transfer/testkit';
import { metric, startTailer, type TestTailer } from './helpers/tailer.js';

jest.setTimeout(60_000);

const WL = 'MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';

let v: Vsftpd;
let t: TestTailer | undefined;
let src: { path: string; remove: () => Promise<void> };
const prefix = uniquePrefix('tailer-ftp-names');

beforeAll(async () => {
  v = await startVsftpd('vsftpd-names');
  src = await tempDir('ftp-names-src');
});
afterAll(async () => {
  await t?.stop();
  await deleteTopology(prefix);
  await v?.stop();
  await src?.remove();
});

it('sends uploads to paths written with ./ and //, and tells apart names vsftpd logs alike', async () => {
  t = await startTailer({ prefix, logPath: v.logPath, cacheRoot: v.cacheRoot, stateDir: join(v.dir, 'state'), whitelist: ['MovingSensor/stereoTop'] });
  const sent = () => metric(t!.registry, 'terra_transfer_xferlog_events_published_total');
  const upload = async (name: string, size: number) => {
    const local = join(src.path, `src-${size}`);
    writeFileSync(local, Buffer.alloc(size, 0x62));
    await curlUpload(v, local, `/${WL}/${encodeURIComponent(name)}`);
  };
  await upload('first.bin', 11); // creates the directories

  // The STOR argument as a client wrote it: vsftpd logs it without normalising.
  const s = await openSession(v.port, FTP_USER, FTP_PASS);
  await s.upload(`/${WL}/./dot.bin`, Buffer.alloc(12, 1));
  await s.upload(`/${WL}//slash.bin`, Buffer.alloc(13, 1));
  await s.upload(`/${WL}/./.hidden.bin`, Buffer.alloc(14, 1));
  await s.close();

  // "a b.bin", sent; then "a_b.bin" of another size; then "c d.bin" and "c_d.bin" of one size, each after the one before was sent.
  await upload('a b.bin', 100);
  await waitFor('a b.bin sent', async () => (await sent()) === 4, 15_000, 50);
  await upload('a_b.bin', 200);
  await upload('c d.bin', 300);
  await waitFor('c d.bin sent', async () => (await sent()) === 6, 15_000, 50);
  await upload('c_d.bin', 300);
  await waitFor('c_d.bin sent', async () => (await sent()) === 7, 15_000, 50);

  const logged = readFileSync(v.logPath, 'latin1');
  expect(logged).toContain(`/${WL}/./dot.bin`);
  expect(logged).toContain(`/${WL}//slash.bin`);
  expect(logged.match(/\/a_b\.bin/g)).toHaveLength(2);
  expect(logged.match(/\/c_d\.bin/g)).toHaveLength(2);

  await new Promise((r) => setTimeout(r, 500)); // nothing more may come
  const paths = (await drainQueue(AMQP_URL, t.uploadsQueue)).map((m) => decode('file.uploaded', m.content).data.path);
  expect(paths).toEqual(['first.bin', 'dot.bin', 'slash.bin', 'a b.bin', 'a_b.bin', 'c d.bin', 'c_d.bin'].map((n) => join(v.cacheRoot, WL, n)));
  expect(await drainQueue(AMQP_URL, t.rejectsQueue)).toHaveLength(0);
  expect(await metric(t.registry, 'terra_transfer_xferlog_lines_total', { outcome: 'hidden' })).toBe(1);
});
