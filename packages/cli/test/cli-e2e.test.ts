/**
 * `terra` as a process against the real stack (every service a process, the
 * Globus and Clowder simulators, the machine's RabbitMQ, Redis, PostgreSQL):
 * status, file lookup, a dead-lettered message redriven and then processed,
 * a replay of a rotated gzipped log sending only what was missing (twice:
 * the second sends nothing), verify finding a file deleted from the
 * destination, and the bad-input cases (one line, an exit code, no stack).
 */
import { gzipSync } from 'node:zlib';
import { appendFile, mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import amqp from 'amqplib';
import { createEvent, topology } from '@terra-transfer/contracts';
import { CLOWDER_COMM_KEY, DEST_SITE_ROOT, LOCAL, SERVICES, SITE, dropTransferLogDatabase, localStack, prepareLayout, transferLogDatabaseUrl, xferLine, type ServiceName } from '@terra-transfer/stack';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { AMQP_URL, deleteKeys, deleteTopology, freePort, tempDir, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { expectOneLineError, terra } from './run.js';

const DAY = '2026-11-24';
const rel = (name: string, i = 0) => `MovingSensor/stereoTop/${DAY}/${DAY}__10-00-0${i}-000/${name}`;

it('terra against the running stack: status, file, dlq redrive, replay, verify, and bad input', async () => {
  const dir = await tempDir('cli-e2e');
  const prefix = uniquePrefix('cli');
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
  const work = join(dir.path, 'work');
  const { stack, layout } = localStack({ workDir: work, prefix, ports, logLevel: 'warn', batch: { maxFiles: 20, maxAgeSeconds: 1 } });
  await prepareLayout(layout);
  const xferlog = join(layout.logDir, 'xferlog');
  await writeFile(xferlog, '');
  const env = {
    SITES_FILE: join(work, 'sites.yaml'), AMQP_PREFIX: prefix, API_TOKEN: LOCAL.apiToken,
    SERVICE_URLS: [
      ...(['batcher', 'watcher', 'clowder-ingest', 'transfer-log'] as const).map((s) => `${s}=${stack.url(s)}`),
      `cleaner@${SITE}=${stack.url('cleaner')}`, `log-tailer@${SITE}=${stack.url('log-tailer')}`,
    ].join(','),
    CLOWDER_URL: stack.url('clowder-sim'), CLOWDER_KEY: CLOWDER_COMM_KEY,
  };
  const cache = (r: string) => join(layout.cacheRoot, r);
  const atDestination = (r: string) => join(layout.destRoot, DEST_SITE_ROOT, destinationRelPath(r));
  const arrived = (r: string) => stat(atDestination(r)).then(() => true, () => false);
  const put = async (r: string, body: string) => {
    await mkdir(dirname(cache(r)), { recursive: true });
    await writeFile(cache(r), body);
    return Buffer.byteLength(body);
  };
  const line = (r: string, size: number, at: string) => `${xferLine({ ftpPath: `/gantry_data/${r}`, size, direction: 'i', status: 'c' }, new Date(at))}\n`;

  let last = '';
  try {
    await stack.start();

    // Three files uploaded and logged: the tailer sends them through the pipeline.
    const first = [rel('left.bin'), rel('right.bin'), rel('extra.bin')];
    for (const [i, r] of first.entries()) await appendFile(xferlog, line(r, await put(r, `first ${i} `.repeat(50 + i)), `${DAY}T10:00:0${i}Z`));
    await waitFor('the first files arrive and leave the cache', async () => {
      for (const r of first) if (!(await arrived(r)) || (await stat(cache(r)).then(() => true, () => false))) return false;
      return true;
    }, 90_000, 500);
    await waitFor('the transfer log and Clowder know them', async () => (await stack.metric('transfer-log', 'terra_transfer_files_total')) === 3, 30_000, 500);

    // --- status: one screen, every service ready.
    const st = await terra(['status', '--json'], env);
    const status = st.json();
    expect(status.services.map((s: { name: string }) => s.name).sort()).toEqual(['batcher', 'clowder-ingest', `cleaner@${SITE}`, `log-tailer@${SITE}`, 'transfer-log', 'watcher'].sort());
    expect(status.services.every((s: { ready: boolean }) => s.ready)).toBe(true);
    expect(status.sites).toEqual([expect.objectContaining({ site: SITE, backlog: expect.any(Number), queues: expect.arrayContaining([expect.objectContaining({ name: `${prefix}.batcher.file-uploaded.${SITE}` })]) })]);
    expect(status.sites[0]).toHaveProperty('oldestUntransferred');
    expect(status.deadLetters.map((d: { name: string }) => d.name)).toContain(`${prefix}.batcher.file-uploaded.${SITE}.dlq`);
    expect(st.code).toBe(0);
    const human = await terra(['status'], env);
    expect(human.stdout).toMatch(/SERVICES[\s\S]*cleaner@ua-mac\s+ok\s+ready[\s\S]*DEAD LETTERS/);

    // --- file: the whole history from the transfer log, and the ledger's record.
    const f = await terra(['file', cache(first[0]!), '--json'], env);
    expect(f.code).toBe(0);
    const file = f.json();
    expect(file).toMatchObject({ site: SITE, from: 'transfer-log', state: expect.stringMatching(/^(transferred|deleted)$/), ledger: { state: 'deleted' } });
    expect(file.versions[0].events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['file.uploaded', 'file.transferred']));
    const unknownFile = await terra(['file', cache(rel('never.bin'))], env);
    expectOneLineError(unknownFile, 5, /no record of .*never\.bin/);

    // --- verify: a file deleted from the destination is found.
    await waitFor('Clowder registered the first files', async () => {
      const r = await terra(['verify', '--site', SITE, '--date', DAY, '--json'], env);
      last = r.stdout + r.stderr;
      const v = r.json();
      return v.sensors.find((s: { sensor: string }) => s.sensor === 'stereoTop')?.clowder.files === 3;
    }, 60_000, 1000);
    const clean = await terra(['verify', '--site', SITE, '--date', DAY, '--json'], env);
    expect(clean.code).toBe(0);
    expect(clean.json().differences).toEqual([]);
    await rm(atDestination(first[2]!));
    const v = await terra(['verify', '--site', SITE, '--date', DAY, '--json'], env);
    expect(v.code).toBe(1);
    expect(v.json().differences).toEqual([{ rel: destinationRelPath(first[2]!), problem: 'deleted_from_destination', detail: expect.any(String) }]);
    expect(v.json().sensors).toEqual([expect.objectContaining({ sensor: 'stereoTop', destination: expect.objectContaining({ files: 2 }), clowder: expect.objectContaining({ files: 3 }) })]);

    // --- replay: a rotated, gzipped log holds uploads the tailer never read (written behind its back):
    // one already transferred (first[0]), two never sent; one line outside the range.
    const missed = [rel('missed-a.bin', 5), rel('missed-b.bin', 5)];
    const sizes = await Promise.all(missed.map((r, i) => put(r, `missed ${i} `.repeat(40))));
    const late = rel('late.bin', 6);
    const lateSize = await put(late, 'outside the range');
    await writeFile(`${xferlog}.2.gz`, gzipSync(
      line(first[0]!, 100, `${DAY}T09:00:00Z`) + line(missed[0]!, sizes[0]!, `${DAY}T09:01:00Z`) + line(missed[1]!, sizes[1]!, `${DAY}T09:02:00Z`)
      + line(late, lateSize, '2026-11-26T09:00:00Z'),
    ));
    const dry = await terra(['replay', '--site', SITE, '--from', DAY, '--to', DAY, '--dry-run', '--json'], env);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ files: 5, alreadyTransferred: 3, toSend: 2, sent: [] });
    const rp = await terra(['replay', '--site', SITE, '--from', DAY, '--to', DAY, '--json'], env);
    expect(rp.code).toBe(0);
    expect(rp.json()).toMatchObject({ alreadyTransferred: 3, toSend: 2, refused: [] });
    expect(rp.json().sent.sort()).toEqual(missed.map(cache).sort());
    expect(rp.json().logFiles).toEqual([`${xferlog}.2.gz`, xferlog]);
    await waitFor('the replayed files arrive', async () => (await arrived(missed[0]!)) && (await arrived(missed[1]!)), 90_000, 500);
    expect(await arrived(late)).toBe(false);
    // Idempotent: the ledger now knows them; nothing is sent again.
    const again = (await terra(['replay', '--site', SITE, '--from', DAY, '--to', DAY, '--json'], env)).json();
    expect(again).toMatchObject({ toSend: 0, sent: [] });
    expect(again.alreadyTransferred + again.inPipeline).toBe(5);

    // --- dlq: a file.uploaded dead-lettered by the batcher (as its consumer does: through the DLX, with the code) is redriven and then processed.
    const t = topology(prefix, [SITE]);
    const dlqName = t.deadLetterQueue({ key: 'batcherUploads', site: SITE });
    const dead = rel('dead-lettered.bin', 7);
    const deadSize = await put(dead, 'dead lettered once');
    const mtime = new Date(Date.now() - 60_000);
    await utimes(cache(dead), mtime, mtime);
    const mtimeMs = (await stat(cache(dead))).mtimeMs;
    const uploadId = `api:${cache(dead)}:${deadSize}:${mtimeMs}`;
    const event = createEvent('file.uploaded', uploadId, { site: SITE, sensor: 'stereoTop', path: cache(dead), size: deadSize, mtimeMs, ftpTime: null, source: 'api', attempt: 1, uploadId });
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(t.deadLetterExchange, t.queue({ key: 'batcherUploads', site: SITE }), Buffer.from(JSON.stringify(event)), {
        messageId: event.id, type: event.type, contentType: 'application/json', persistent: true,
        headers: { 'x-terra-error-code': 'GLOBUS_UNAVAILABLE', 'x-terra-error-detail': 'simulated outage', 'x-terra-source-queue': t.queue({ key: 'batcherUploads', site: SITE }), 'x-terra-dead-lettered-at': new Date().toISOString() },
      });
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    // The management API's counts lag the queue by its stats interval (5 s).
    const dlqDepth = async () => (await terra(['dlq', 'list', '--json'], env)).json().find((d: { name: string }) => d.name === dlqName);
    await waitFor('dlq list counts the dead letter', async () => (await dlqDepth()).messages === 1, 30_000, 1000);
    expect(await dlqDepth()).toMatchObject({ messages: 1, source: t.queue({ key: 'batcherUploads', site: SITE }) });
    const show = await terra(['dlq', 'show', dlqName, '--json'], env);
    expect(show.json().messages).toEqual([expect.objectContaining({ messageId: uploadId, code: 'GLOBUS_UNAVAILABLE', detail: 'simulated outage', age: expect.any(String) })]);
    expect((await terra(['status', '--json'], env)).code).toBe(1); // a dead letter is a finding
    const filtered = (await terra(['dlq', 'redrive', dlqName, '--filter', 'SOMETHING_ELSE', '--json'], env)).json();
    expect(filtered).toMatchObject({ redriven: [], skipped: 1 });
    const dryRedrive = (await terra(['dlq', 'redrive', dlqName, '--dry-run', '--json'], env)).json();
    expect(dryRedrive.redriven).toHaveLength(1);
    const redrive = await terra(['dlq', 'redrive', dlqName, '--filter', 'GLOBUS_UNAVAILABLE', '--json'], env);
    expect(redrive.code).toBe(0);
    expect(redrive.json()).toMatchObject({ redriven: [expect.objectContaining({ messageId: uploadId })], skipped: 0 });
    await waitFor('the redriven file arrives', () => arrived(dead), 90_000, 500);
    await waitFor('dlq list shows the dead-letter queue empty', async () => (await dlqDepth()).messages === 0, 30_000, 1000);
    const history = (await terra(['file', cache(dead), '--json'], env)).json();
    expect(history.versions[0].events.map((e: { type: string }) => e.type)).toContain('file.transferred');

    // --- resend, failed, sweep: through the cleaner's endpoints.
    const resent = await terra(['resend', '--site', SITE, cache(late), cache(rel('not-there.bin')), '--json'], env);
    expect(resent.code).toBe(1); // one refused
    expect(resent.json()).toMatchObject({ accepted: [expect.objectContaining({ path: cache(late) })], refused: [{ path: cache(rel('not-there.bin')), code: 'MISSING' }] });
    await waitFor('the resent file arrives', () => arrived(late), 90_000, 500);
    expect((await terra(['failed', '--json'], env)).json()).toEqual([{ site: SITE, total: 0, items: [] }]);
    const sw = await terra(['sweep', '--site', SITE, '--now', '--json'], env);
    expect(sw.code).toBe(0);
    expect(sw.json()).toMatchObject({ trigger: 'api', state: 'succeeded', counts: expect.objectContaining({ sent: 0 }) });
    expect((await terra(['sweep', 'status', '--json'], env)).json()).toEqual([{ site: SITE, latest: expect.objectContaining({ id: sw.json().id }) }]);

    // --- bad input: one line, a meaningful exit code, never a stack trace.
    expectOneLineError(await terra(['resend', '--site', SITE, cache(late)], { ...env, API_TOKEN: 'wrong-token' }), 4, /refused the token/);
    const closed = await freePort();
    expectOneLineError(await terra(['file', '--prefix', `${layout.cacheRoot}/`], { ...env, SERVICE_URLS: `transfer-log=http://127.0.0.1:${closed}` }), 3, new RegExp(`cannot reach transfer-log at http://127.0.0.1:${closed}: connection refused`));
    // The transfer log down: `file` falls back to the ledger; `status` shows it and exits 1.
    const deadLog = `${env.SERVICE_URLS},transfer-log=http://127.0.0.1:${closed}`;
    const fallback = await terra(['file', cache(dead), '--json'], { ...env, SERVICE_URLS: deadLog });
    expect(fallback.code).toBe(0);
    expect(fallback.json()).toMatchObject({ from: 'ledger', versions: [], ledger: { state: 'deleted' }, transferLogError: expect.stringMatching(/cannot reach transfer-log/) });
    const down = await terra(['status', '--json'], { ...env, SERVICE_URLS: `${deadLog},watcher=http://127.0.0.1:${closed}` });
    expect(down.code).toBe(1);
    expect(down.json().services.find((x: { name: string }) => x.name === 'watcher')).toMatchObject({ healthy: false, ready: false, error: expect.stringMatching(/connection refused/) });
    expect(down.json().transferLog).toEqual({ error: expect.stringMatching(/cannot reach transfer-log/) });
    expectOneLineError(await terra(['status', '--site', 'nowhere'], env), 5, /unknown site "nowhere"/);
    expectOneLineError(await terra(['failed', '--site', 'nowhere'], env), 5, /unknown site "nowhere".*ua-mac/);
    expectOneLineError(await terra(['replay', '--site', SITE, '--from', '2020-01-01', '--to', '2020-01-02'], env), 5, /the logs of site ua-mac .* cover .* not 2020-01-01/);
    expectOneLineError(await terra(['dlq', 'show', t.queue({ key: 'batcherUploads', site: SITE })], env), 5, new RegExp(`is not a dead-letter queue \\(its dead-letter queue is ${dlqName.replace(/\./g, '\\.')}\\)`));
    expectOneLineError(await terra(['dlq', 'purge', dlqName], env), 6, /pass --yes/);
    expectOneLineError(await terra(['replay', '--site', SITE, '--from', '2026-13-01', '--to', DAY], env), 2, /--from "2026-13-01" is not a day/);
    const asJson = await terra(['failed', '--site', 'nowhere', '--json'], env);
    expect(asJson.json()).toEqual({ error: { code: 'UNKNOWN_SITE', message: expect.stringContaining('unknown site'), exitCode: 5 } });
    expect((await terra(['dlq', 'purge', dlqName, '--yes', '--json'], env)).json()).toEqual({ queue: dlqName, purged: 0 });
  } catch (err) {
    const logs = [...stack.procs.values()].map((p) => `--- ${p.name}:\n${p.output().split('\n').slice(-15).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\nlast: ${last}\n${logs}`, { cause: err });
  } finally {
    await stack.killAll();
    await deleteTopology(prefix).catch(() => undefined);
    await deleteKeys(prefix).catch(() => undefined);
    await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
    await dir.remove();
  }
}, 420_000);
