/**
 * The whole pipeline with the real FTP side: a real vsftpd on 127.0.0.1
 * writing a real xferlog, uploads by a real FTP client (curl), aborted
 * uploads (a data connection reset mid-transfer), a download, files outside
 * the whitelist and hidden files, and the log rotated mid-stream by the real
 * logrotate (create + compress + delaycompress, then copytruncate).
 *
 * Every completed upload in a whitelisted directory must reach the
 * destination with the right checksum, be deleted from the cache and be
 * registered in the Clowder simulator exactly once; nothing else is touched.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEST_SITE_ROOT, dropTransferLogDatabase, localStack, transferLogDatabaseUrl, prepareLayout, verify, type ExpectedFile, type ServiceName, type Verdict } from '@terra-transfer/stack';
import { FTP_PASS, FTP_USER, abortedUpload, curlDownload, curlUpload, freePort, logrotate, openSession, startVsftpd, uniquePrefix, waitFor, type Vsftpd } from '@terra-transfer/testkit';
import { destinationRelPath } from '@terra-transfer/site-layout';

const SERVICES: ServiceName[] = ['globus-sim', 'clowder-sim', 'log-tailer', 'batcher', 'watcher', 'cleaner', 'clowder-ingest', 'transfer-log'];

it('every completed whitelisted FTP upload arrives, is deleted from the cache and registered once; nothing else is touched', async () => {
  const v: Vsftpd = await startVsftpd('e2e');
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
  const prefix = uniquePrefix('e2e');
  const { stack, layout } = localStack({
    batch: { maxFiles: 20, maxAgeSeconds: 1 },
    workDir: v.dir, prefix, ports, logLevel: 'warn', xferlogPath: v.logPath, ftpRoot: '/',
    env: { 'log-tailer': { ROTATE_WAIT_MS: '5000' } },
  });
  await prepareLayout(layout);
  const local = join(v.dir, 'outgoing');
  await mkdir(local);
  const expected: ExpectedFile[] = [];
  let verdict: Verdict | undefined;
  const t0 = Date.now();
  const step = (what: string) => process.stderr.write(`e2e ${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}\n`);

  /** Uploads with curl; `expect` says whether it must go through the pipeline. */
  const upload = async (rel: string, body: Buffer, expect: boolean) => {
    const f = join(local, rel.replace(/\//g, '_'));
    await writeFile(f, body);
    await curlUpload(v, f, `/${rel}`);
    if (expect) expected.push({ rel, size: body.length, md5: createHash('md5').update(body).digest('hex') });
  };
  const dataset = async (i: number) => {
    const ts = `2026-11-24__10-00-${String(i).padStart(2, '0')}-000`;
    const dir = `MovingSensor/stereoTop/2026-11-24/${ts}`;
    await upload(`${dir}/left.bin`, Buffer.alloc(3000 + i, `left ${i}`), true);
    await upload(`${dir}/right.bin`, Buffer.alloc(2000 + i, `right ${i}`), true);
    await upload(`${dir}/${ts}_metadata.json`, Buffer.from(JSON.stringify({ lemnatec_measurement_metadata: { gantry_system_variable_metadata: { time: ts } } })), true);
  };

  try {
    await stack.start();
    step('stack started');
    const confCreate = join(v.dir, 'logrotate-create.conf');
    const confCopy = join(v.dir, 'logrotate-copytruncate.conf');
    writeFileSync(confCreate, `${v.logPath} {\n  rotate 9\n  create\n  compress\n  delaycompress\n  missingok\n}\n`);
    writeFileSync(confCopy, `${v.logPath} {\n  rotate 9\n  copytruncate\n  compress\n  delaycompress\n  missingok\n}\n`);
    const state = join(v.dir, 'logrotate.state');

    // A long FTP session opened before the rotation keeps logging into the rotated file (vsftpd opens the log per session).
    // The raw session cannot create directories: its target exists beforehand, owned by the FTP user.
    const sessionDir = join(layout.cacheRoot, 'LemnaTec/EnvironmentLogger/2026-11-25');
    await mkdir(sessionDir, { recursive: true });
    const { uid, gid } = await stat(layout.cacheRoot);
    for (const d of ['LemnaTec', 'LemnaTec/EnvironmentLogger', 'LemnaTec/EnvironmentLogger/2026-11-25']) await chown(join(layout.cacheRoot, d), uid, gid);
    const session = await openSession(v.port, FTP_USER, FTP_PASS);
    step('long session open');
    for (let i = 0; i < 4; i++) await dataset(i);
    await upload('Unsorted/stray/outside.bin', Buffer.alloc(500, 'outside'), false);
    await upload('MovingSensor/stereoTop/2026-11-24/.hidden-partial.bin', Buffer.alloc(400, 'hidden'), false);
    await abortedUpload(v.port, FTP_USER, FTP_PASS, '/MovingSensor/stereoTop/2026-11-24/aborted.bin', 64 * 1024);
    step('first uploads done');
    await logrotate(confCreate, state);
    step('rotated (create)');
    const sessionBody = Buffer.alloc(1500, 'long session');
    await session.upload('/LemnaTec/EnvironmentLogger/2026-11-25/2026-11-25_10-05-00_environmentlogger.json', sessionBody);
    expected.push({ rel: 'LemnaTec/EnvironmentLogger/2026-11-25/2026-11-25_10-05-00_environmentlogger.json', size: sessionBody.length, md5: createHash('md5').update(sessionBody).digest('hex') });
    for (let i = 4; i < 8; i++) await dataset(i);
    await curlDownload(v, '/MovingSensor/stereoTop/2026-11-24/2026-11-24__10-00-05-000/left.bin').catch(() => undefined);
    await logrotate(confCopy, state);
    step('rotated (copytruncate)');
    for (let i = 8; i < 11; i++) await dataset(i);
    await session.close();
    step('uploads done');

    const deadline = Date.now() + 120_000;
    do {
      await new Promise((r) => setTimeout(r, 1_500));
      verdict = await verify(stack, layout, expected);
    } while ((verdict.missing.length || verdict.inCache.length || verdict.clowder.files < expected.length) && Date.now() < deadline);
    step(`pipeline drained: ${expected.length - verdict.missing.length}/${expected.length} arrived`);
    verdict = await verify(stack, layout, expected, { globusDetail: true });

    expect(verdict.missing).toEqual([]);
    expect(verdict.inCache).toEqual([]);
    expect(verdict.deletedPrematurely).toEqual([]);
    expect(verdict.clowder).toMatchObject({ files: expected.length, distinctFilePaths: expected.length, duplicates: 0, datasetsWithMetadata: 11 });
    expect(verdict.globus.pathsTransferredTwice).toEqual([]);
    // Nothing else was touched: not sent, not deleted, not registered.
    for (const rel of ['Unsorted/stray/outside.bin', 'MovingSensor/stereoTop/2026-11-24/.hidden-partial.bin', 'MovingSensor/stereoTop/2026-11-24/aborted.bin']) {
      expect(await stat(join(layout.cacheRoot, rel)).then(() => 'in cache', () => 'gone')).toBe('in cache');
      expect(await readFile(join(layout.destRoot, DEST_SITE_ROOT, destinationRelPath(rel))).then(() => 'at destination', () => 'not sent')).toBe('not sent');
    }
    expect(verdict.globus.filesTransferred).toBe(expected.length);
    const lines = await stack.metric('log-tailer', 'terra_transfer_xferlog_lines_total');
    expect(lines).toBeGreaterThanOrEqual(expected.length + 3);
    // The transfer log saw every arrival, each once.
    await waitFor('the transfer log counted every arrival', async () => (await stack.metric('transfer-log', 'terra_transfer_files_total')) === expected.length, 30_000);
    expect(await stack.metric('transfer-log', 'terra_transfer_bytes_total')).toBe(expected.reduce((n, f) => n + f.size, 0));
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-12).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\nverdict: ${JSON.stringify(verdict)}\n${logs}`, { cause: err });
  } finally {
    await stack.killAll();
    await v.stop();
    await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
  }
}, 240_000);
