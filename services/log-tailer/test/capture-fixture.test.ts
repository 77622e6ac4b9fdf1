/**
 * Re-captures test/fixtures/vsftpd-xferlog.txt from a real vsftpd. Not part
 * of the normal run (the fixture is committed); run it with
 *   CAPTURE_XFERLOG=1 node --experimental-vm-modules node_modules/jest/bin/jest.js services/log-tailer/test/capture-fixture
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@terra-transfer/testkit';
import { abortedUpload, openSession } from '@terra-transfer/testkit';
import { FTP_PASS, FTP_USER, curlDownload, curlUpload, startVsftpd } from '@terra-transfer/testkit';

const here = fileURLToPath(new URL('.', import.meta.url));

(process.env['CAPTURE_XFERLOG'] ? it : it.skip)('captures real vsftpd xferlog lines', async () => {
  const v = await startVsftpd('capture');
  const local = await tempDir('capture-src');
  try {
    const f = join(local.path, 'f.bin');
    await writeFile(f, Buffer.alloc(1234, 1));
    const d = '/MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195';
    await curlUpload(v, f, `${d}/left.bin`);
    await curlUpload(v, f, `${d}/a%20b.bin`);
    await curlUpload(v, f, `${d}/caf%C3%A9.bin`);
    await curlUpload(v, f, `${d}/q%3Fmark.bin`);
    // curl refuses control characters in a path; the raw client sends any byte.
    const s = await openSession(v.port, FTP_USER, FTP_PASS);
    await s.upload(`${d}/ctl\x01tab\tx.bin`, Buffer.alloc(10, 2));
    await s.close();
    await curlUpload(v, f, `/LemnaTec/EnvironmentLogger/2016-04-05/2016-04-05_12-34-56_environmentlogger.json`);
    await curlDownload(v, `${d}/left.bin`);
    await abortedUpload(v.port, FTP_USER, FTP_PASS, `${d}/aborted.bin`, 200_000);
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(here, 'fixtures', 'vsftpd-xferlog.txt'), await readFile(v.logPath));
  } finally {
    await v.stop();
    await local.remove();
  }
});
