/**
 * make bench-batcher: N generated uploads through the batcher and watcher
 * with the Globus simulator (real processes, real broker and Redis).
 * Prints one JSON line:
 *   files_per_sec                 file.uploaded published → every file in a task Globus accepted
 *   globus_calls_per_1000_files   all Globus API calls (both services, tokens included) from the
 *                                 first submission to the last file.transferred, per 1,000 files
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AMQP_URL, queueDepth } from '@terra-transfer/testkit';
import { startPipeline } from '../test/harness.js';

const N = Number(process.env['BENCH_FILES'] ?? 20_000);

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const p = await startPipeline({
  sim: { LOG_LEVEL: 'warn' },
  batcher: { LOG_LEVEL: 'warn', BATCH_MAX_FILES: '500', BATCH_MAX_WAIT_MS: '2000', MAX_CONCURRENT_SUBMITS: '4' },
  watcher: { LOG_LEVEL: 'warn', POLL_MIN_MS: '1000', POLL_MAX_MS: '10000' },
});
try {
  // Files exist before the clock starts: this measures the batcher, not the file system.
  const events = [];
  for (let i = 0; i < N; i++) {
    const e = await p.upload(i, { create: false });
    const path = e.data.path;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
    await utimes(path, 0.001, 0.001); // mtime 1 ms: the version the event names (the batcher checks it on disk)
    events.push({ ...e, data: { ...e.data, size: 0, mtimeMs: 1 } });
  }
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 1000) await Promise.all(events.slice(i, i + 1000).map((e) => p.amqp.publish(e)));
  while ((await metric(p.ports.batcher, 'terra_transfer_files_submitted_total')) < N) await new Promise((r) => setTimeout(r, 50));
  const submitSeconds = (performance.now() - t0) / 1000;
  const queue = p.queue('cleanerTransfers');
  while ((await queueDepth(AMQP_URL, queue)) < N) await new Promise((r) => setTimeout(r, 250));
  const totalSeconds = (performance.now() - t0) / 1000;
  const calls = (await metric(p.ports.batcher, 'terra_transfer_globus_calls_total')) + (await metric(p.ports.watcher, 'terra_transfer_globus_calls_total'));
  const tasks = (await p.tasks()).length;
  process.stdout.write(`${JSON.stringify({
    bench: 'batcher',
    files: N,
    batch_max_files: 500,
    tasks,
    files_per_sec: Math.round(N / submitSeconds),
    uploaded_to_transferred_seconds: Number(totalSeconds.toFixed(2)),
    globus_calls: calls,
    globus_calls_per_1000_files: Number(((calls / N) * 1000).toFixed(2)),
  })}\n`);
} finally {
  await p.close();
}
