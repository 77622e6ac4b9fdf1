import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileUploaded } from '@terra-transfer/contracts';
import { FileLedger } from '@terra-transfer/ledger';
import { queueDepth, waitFor, AMQP_URL } from '@terra-transfer/testkit';
import { DST, SRC, WATCHER_TOKEN, failWith, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});


describe('batcher + watcher with the Globus simulator', () => {
  it('files flow from file.uploaded to one file.transferred each, in tasks of at most BATCH_MAX_FILES', async () => {
    p = await startPipeline();
    const pl = p;
    const events = await Promise.all(Array.from({ length: 25 }, (_, i) => pl.upload(i)));
    for (const e of events) await pl.amqp.publish(e);
    await waitFor('25 file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 25, 60_000).catch(failWith(pl));
    const transferred = await pl.drain('cleanerTransfers');
    expect(transferred.map((t) => t.body.data.path).sort()).toEqual(events.map((e) => e.data.path).sort());
    for (const t of transferred) {
      const d = t.body.data;
      expect(d.destinationPath).toMatch(/^\/ua-mac\/raw_data\/stereoTop\/2026-11-24\//);
      // The file really arrived, and the checksum Globus verified is the file's.
      expect(await pl.md5(join(pl.dest, d.destinationPath))).toBe(d.checksum);
      expect(d.checksumAlgorithm).toBe('MD5');
    }
    const tasks = await pl.tasks();
    expect(tasks).toHaveLength(3); // 10 + 10 + 5
    expect(tasks.every((t) => t.status === 'SUCCEEDED')).toBe(true);
    expect(tasks.reduce((n, t) => n + (t.files_transferred ?? 0), 0)).toBe(25);
    // The watcher's API shows the tasks closed.
    const r = await fetch(`http://127.0.0.1:${pl.ports.watcher}/api/v1/tasks?status=closed`);
    expect(((await r.json()) as { total: number }).total).toBe(3);
    // A file already transferred is not sent again when its event is redelivered.
    await pl.amqp.publish(events[0]!);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await pl.tasks()).toHaveLength(3);
  });

  /**
   * A file the batcher saw in the cache but that is gone when Globus copies it: one task holds the
   * simulator's only running slot (slow copies) while ours waits Queued, and the file is deleted meanwhile.
   */
  async function goneAfterSubmit(pl: Pipeline, files: FileUploaded[], victim: FileUploaded): Promise<void> {
    const blocker = await pl.upload(59);
    const rel = blocker.data.path.slice(pl.cache.length);
    await pl.globus.submitTransfer({
      submission_id: await pl.globus.submissionId(), source_endpoint: SRC, destination_endpoint: DST,
      DATA: [{ DATA_TYPE: 'transfer_item', source_path: rel, destination_path: `/blocker${rel}`, recursive: false }],
    });
    for (const e of files) await pl.amqp.publish(e);
    await waitFor('our task submitted', async () => (await pl.tasks()).length >= 2, 20_000).catch(failWith(pl));
    await rm(victim.data.path);
  }
  const slowFirstTask = { GLOBUS_SIM_MAX_ACTIVE_PER_OWNER: '1', GLOBUS_SIM_FAULTS: JSON.stringify([{ kind: 'slow', count: 1, delayMs: 2_000 }]) };

  it('gives up a file Globus cannot find with file.failed after the last attempt', async () => {
    p = await startPipeline({ sim: slowFirstTask, watcher: { MAX_ATTEMPTS: '1' } });
    const pl = p;
    const good = await pl.upload(1);
    const missing = await pl.upload(2);
    await goneAfterSubmit(pl, [good, missing], missing);
    await waitFor('file.failed for the missing file', async () => (await queueDepth(AMQP_URL, pl.queue('failedFiles'))) >= 1, 60_000).catch(failWith(pl));
    const [failed] = await pl.drain('failedFiles');
    expect(failed!.body.data).toMatchObject({ path: missing.data.path, attempts: 1, reason: 'FILE_NOT_FOUND' });
    const transferred = await pl.drain('cleanerTransfers');
    expect(transferred.map((t) => t.body.data.path)).toEqual([good.data.path]);
    const metrics = await (await fetch(`http://127.0.0.1:${pl.ports.watcher}/metrics`)).text();
    expect(metrics).toMatch(/terra_transfer_files_failed_total\{reason="FILE_NOT_FOUND"\} 1/);
  });

  it('cancels a task stuck on faults and sends its files again; a file gone from the cache is not submitted again', async () => {
    p = await startPipeline({ sim: slowFirstTask, batcher: { SKIP_SOURCE_ERRORS: 'false' }, watcher: { STUCK_AFTER_MS: '1500', MAX_ATTEMPTS: '2' } });
    const pl = p;
    const missing = await pl.upload(3);
    await goneAfterSubmit(pl, [missing], missing);
    await waitFor('the resent file found gone', async () => (await pl.metric('batcher', 'terra_transfer_files_skipped_total{reason="vanished"}')) >= 1, 60_000).catch(failWith(pl));
    const tasks = await pl.tasks();
    expect(tasks).toHaveLength(2); // the blocker and ours, cancelled; no third
    expect(tasks.filter((t) => t.status === 'FAILED')).toHaveLength(1);
    expect(await new FileLedger(pl.redis, pl.prefix).get(missing.data.path)).toMatchObject({ state: 'failed', reason: 'VANISHED', attempt: 2 });
    expect(await queueDepth(AMQP_URL, pl.queue('failedFiles'))).toBe(0);
  });

  it('a task registered over HTTP (a transfer started by hand) needs the token and ends in the same queue', async () => {
    p = await startPipeline();
    const pl = p;
    const url = `http://127.0.0.1:${pl.ports.watcher}/api/v1/tasks`;
    const post = (body: unknown, token?: string) =>
      fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    expect((await post({ taskId: 'x' })).status).toBe(401);
    expect((await post({ taskId: 'x' }, 'wrong')).status).toBe(401);
    const bad = await post({ taskId: 'x' }, WATCHER_TOKEN);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('BAD_REQUEST');
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    // Someone starts a transfer by hand and tells the watcher about it.
    const e = await pl.upload(7);
    const rel = e.data.path.slice(pl.cache.length);
    const submissionId = await pl.globus.submissionId();
    const { taskId } = await pl.globus.submitTransfer({
      submission_id: submissionId, source_endpoint: SRC, destination_endpoint: DST, verify_checksum: true,
      DATA: [{ DATA_TYPE: 'transfer_item', source_path: rel, destination_path: `/manual${rel}`, recursive: false }],
    });
    const task = {
      taskId, submissionId, batchId: 'manual-1', label: 'by hand', sourceEndpoint: SRC, destinationEndpoint: DST, submittedAt: new Date().toISOString(),
      files: [{ path: e.data.path, sourcePath: rel, destinationPath: `/manual${rel}`, size: e.data.size, mtimeMs: e.data.mtimeMs, site: 'ua-mac', sensor: 'stereoTop', uploadId: e.data.uploadId, attempt: 1 }],
    };
    const ok = await post(task, WATCHER_TOKEN);
    expect(ok.status).toBe(202);
    expect((await post(task, WATCHER_TOKEN)).status).toBe(202); // idempotent
    await waitFor('file.transferred', async () => (await queueDepth(AMQP_URL, pl.queue('cleanerTransfers'))) >= 1, 30_000).catch(failWith(pl));
    const [t] = await pl.drain('cleanerTransfers');
    expect(t!.body.data).toMatchObject({ path: e.data.path, taskId, destinationPath: `/manual${rel}` });
    const view = await (await fetch(`${url}/${taskId}`)).json();
    expect(view).toMatchObject({ taskId, state: 'closed', outcome: 'SUCCEEDED', filesTransferred: 1 });
  });
});
