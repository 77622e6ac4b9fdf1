/**
 * make demo: the whole pipeline on this machine, on generated gantry uploads.
 *
 *   node packages/stack/dist/demo.js [--datasets N] [--rate DATASETS_PER_SEC] [--rotate-every LINES] [--work-dir DIR] [--exit]
 *
 * Starts the Globus and Clowder simulators and the five services as separate
 * processes, writes sensor files into the cache with an xferlog line each
 * (rotating the log on the way), shows live progress, prints a summary with
 * what it verified, and leaves the stack running for inspection until Ctrl-C
 * (or stops it at once with --exit).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteKeys, deleteTopology } from '@terra-transfer/testkit';
import { Gantry } from './gantry.js';
import { CLOWDER_COMM_KEY, DEFAULT_PORTS, SERVICES, dropTransferLogDatabase, localStack, transferLogDatabaseUrl } from './local.js';
import { clean, verify } from './verify.js';
import { LOCAL, prepareLayout } from './stack.js';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: '150' },
    rate: { type: 'string', default: '20' },
    'rotate-every': { type: 'string', default: '120' },
    'work-dir': { type: 'string', default: resolve('.demo') },
    prefix: { type: 'string', default: 'terra-demo' },
    'timeout-s': { type: 'string', default: '300' },
    exit: { type: 'boolean', default: false },
  },
});
const datasets = Number(args.datasets);
const rate = Number(args.rate);
const workDir = resolve(args['work-dir']);
const prefix = args.prefix;
const tty = process.stdout.isTTY;
const out = (s: string) => process.stdout.write(`${s}\n`);

async function portFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch {
    return true;
  }
}

for (const s of SERVICES) {
  if (!(await portFree(DEFAULT_PORTS[s]))) {
    out(`Port ${DEFAULT_PORTS[s]} (${s}) is in use: is another demo still running? Stop it (Ctrl-C in its terminal) and try again.`);
    process.exit(1);
  }
}

out(`terra-transfer demo: ${datasets} gantry datasets at ${rate}/s, work dir ${workDir}`);
await rm(workDir, { recursive: true, force: true });
await deleteTopology(prefix).catch(() => undefined);
await deleteKeys(`${prefix}:`).catch(() => undefined);
await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
const { stack, layout } = localStack({ workDir, prefix, logFiles: true });
await prepareLayout(layout);
await mkdir(join(workDir, 'logs'), { recursive: true });

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  out('\nStopping the stack (services drain their in-flight work)…');
  await stack.stop();
  out('Stopped.');
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

out('Starting the simulators and services…');
try {
  await stack.start();
} catch (err) {
  out(`A service did not start: ${String(err)}\nLogs: ${join(workDir, 'logs')}`);
  await stack.killAll();
  process.exit(1);
}

const gantry = new Gantry({ cacheRoot: layout.cacheRoot, logDir: layout.logDir, ftpRoot: '/gantry_data', rotateEvery: Number(args['rotate-every']), keep: 50 });
let rotations = 0;
const origRotate = gantry.rotate.bind(gantry);
gantry.rotate = async () => {
  rotations++;
  await origRotate();
};

const counts = async () => ({
  uploaded: await stack.metric('log-tailer', 'terra_transfer_xferlog_events_published_total'),
  submitted: await stack.metric('batcher', 'terra_transfer_files_submitted_total'),
  transferred: await stack.metric('watcher', 'terra_transfer_files_completed_total', { result: 'transferred' }),
  deleted: await stack.metric('cleaner', 'terra_transfer_cleaner_deletions_total', { outcome: 'deleted' }),
  ingested: await stack.metric('clowder-ingest', 'terra_transfer_clowder_files_ingested_total'),
});

const started = Date.now();
let generating = true;
const generator = (async () => {
  for (let i = 0; i < datasets && !stopping; i++) {
    await gantry.dataset();
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  generating = false;
})();

let last = { t: Date.now(), ingested: 0 };
let lastChange = Date.now();
let prev = '';
const timeoutMs = Number(args['timeout-s']) * 1000;
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const c = await counts();
  const expected = gantry.expected().length;
  const now = Date.now();
  const rateNow = ((c.ingested - last.ingested) * 1000) / Math.max(1, now - last.t);
  last = { t: now, ingested: c.ingested };
  const line = `[${String(Math.round((now - started) / 1000)).padStart(4)}s] written ${String(expected).padStart(5)} | uploaded ${c.uploaded} | submitted ${c.submitted} | transferred ${c.transferred} | deleted ${c.deleted} | ingested ${c.ingested} | ${rateNow.toFixed(0)} files/s | backlog ${Math.max(0, expected - Math.min(c.deleted, c.ingested))} | log rotations ${rotations}`;
  if (tty) process.stdout.write(`\r${line}  `);
  else if (line.slice(8) !== prev) out(line);
  prev = line.slice(8);
  const key = JSON.stringify(c);
  if (key !== (last as unknown as { key?: string }).key) lastChange = now;
  (last as unknown as { key?: string }).key = key;
  if (!generating && c.deleted >= expected && c.ingested >= expected) break;
  if (now - started > timeoutMs || now - lastChange > 60_000) {
    out(`\nThe pipeline did not finish (${now - lastChange > 60_000 ? 'no progress for 60 s' : 'timeout'}); see the logs in ${join(workDir, 'logs')}.`);
    if (args.exit) await stop(1);
    break;
  }
}
await generator;
if (tty) out('');

// Verify what an operator would: every completed upload is at the destination with the same bytes, gone from the cache, and in Clowder once.
const expected = gantry.expected();
const v = await verify(stack, layout, expected, { globusDetail: true });
const c = await counts();
const secs = (Date.now() - started) / 1000;
const ok = clean(v);
out('');
out('Summary');
out(`  log lines written            ${gantry.uploads.length} (${gantry.uploads.length - expected.length} not completed uploads in the whitelist: aborted, downloads, outside)`);
out(`  completed uploads            ${expected.length}`);
out(`  published / submitted        ${c.uploaded} / ${c.submitted}`);
out(`  transferred / deleted        ${c.transferred} / ${c.deleted}`);
out(`  at destination, same bytes   ${v.arrived} of ${expected.length}`);
out(`  left in the cache            ${v.inCache.length}`);
out(`  Globus                       ${v.globus.tasks} tasks, ${v.globus.filesTransferred} files moved, ${v.globus.pathsTransferredTwice.length} moved twice`);
out(`  Clowder                      ${v.clowder.collections} collections, ${v.clowder.datasets} datasets, ${v.clowder.files} files (${v.clowder.distinctFilePaths} paths), metadata on ${v.clowder.datasetsWithMetadata} datasets, ${v.clowder.duplicates} duplicates`);
out(`  log rotations                ${rotations}`);
out(`  elapsed                      ${secs.toFixed(1)} s`);
out(`  result                       ${ok ? 'OK: every completed upload arrived, was deleted from the cache and registered once' : 'NOT OK: see above and the logs'}`);
out('');
out('Inspect the running stack:');
out('  RabbitMQ management UI       http://127.0.0.1:15672 (guest/guest), queues "' + prefix + '.*"');
for (const s of SERVICES) out(`  ${s.padEnd(15)} http://127.0.0.1:${DEFAULT_PORTS[s]}/metrics  /docs  /readyz`);
out(`  logs                         ${join(workDir, 'logs')}`);
out(`  write endpoints token        ${LOCAL.apiToken} (Clowder key ${CLOWDER_COMM_KEY})`);
if (args.exit) await stop(ok ? 0 : 1);
out('\nThe stack keeps running. Ctrl-C stops it cleanly.');
