/**
 * make demo: the whole pipeline on this machine, three sites at once.
 *
 *   node packages/stack/dist/demo.js [--datasets N] [--rate DATASETS_PER_SEC] [--folders N] [--snapshots N] [--real-size] [--rotate-every LINES]
 *                                    [--sites FILE] [--work-dir DIR] [--prefix P] [--free-ports] [--exit] [--json]
 *
 * Runs the sites of the demo's site file (<work-dir>/sites.yaml, written from
 * `demoSites`, or --sites FILE): the Maricopa gantry (sensor files into its
 * FTP cache with an xferlog line each, the log rotated on the way), a drone
 * site (Kansas State: flight folders, images still being written) and a
 * sequencer site (HudsonAlpha: run folders completed by RTAComplete.txt) and
 * a LemnaTec site (Danforth: a test Scanalyzer in databases of its own on the
 * machine's PostgreSQL, named after the prefix and this process, dropped at
 * exit, committing --snapshots snapshots of ten images; small images unless
 * --real-size), each with its own destination and Clowder space. The stack starts one
 * cleaner per site and one log-tailer or directory-source per site from the
 * file, so a site added to the file runs with no code change. Live progress
 * and the summary are per site, read from the transfer log and checked
 * against the destination (a Danforth snapshot's PNGs pixel for pixel against
 * its blobs, its metadata.json against its rows: `demo-danforth.ts`); the stack stays up for inspection until Ctrl-C
 * (or stops at once with --exit). With --json, stdout carries only one JSON
 * line, `{"sites": {"<name>": {completed, at_destination, deleted, ingested,
 * lost, result}}}`; everything else goes to stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ownedRoot, type Site } from '@terra-transfer/sites';
import { deleteKeys, deleteTopology, freePort } from '@terra-transfer/testkit';
import { ScanalyzerWriter } from './demo-danforth.js';
import { demoSites, writeSitesFile } from './demo-sites.js';
import { Gantry } from './gantry.js';
import { InstrumentWriter } from './instruments.js';
import { CLOWDER_COMM_KEY, dropTransferLogDatabase, localProcesses, localStack, transferLogDatabaseUrl } from './local.js';
import { LOCAL, prepareLayout } from './stack.js';
import { loggedFiles, loggedVolumes, siteOutcome, type LoggedFiles, type SiteOutcome } from './transfer-log-figures.js';
import { verifySites, type ExpectedFile } from './verify.js';
import { loadSites } from '@terra-transfer/sites';

const { values: args } = parseArgs({
  options: {
    datasets: { type: 'string', default: '60' },
    rate: { type: 'string', default: '10' },
    folders: { type: 'string', default: '15' },
    snapshots: { type: 'string', default: '10' },
    'real-size': { type: 'boolean', default: false },
    'rotate-every': { type: 'string', default: '60' },
    sites: { type: 'string' },
    'work-dir': { type: 'string', default: resolve('.demo') },
    prefix: { type: 'string', default: 'terra-demo' },
    'timeout-s': { type: 'string', default: '300' },
    'free-ports': { type: 'boolean', default: false },
    exit: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const datasets = Number(args.datasets);
const rate = Number(args.rate);
const folders = Number(args.folders);
const snapshots = Number(args.snapshots);
const workDir = resolve(args['work-dir']);
const prefix = args.prefix;
// With --json, stdout is the verdict's alone.
const stream = args.json ? process.stderr : process.stdout;
const tty = stream.isTTY;
const out = (s: string) => stream.write(`${s}\n`);

await rm(workDir, { recursive: true, force: true });
const sitesFile = args.sites ? resolve(args.sites) : writeSitesFile(workDir, demoSites(workDir));
const sites = loadSites(sitesFile);
const procs = localProcesses(sites);
const ports = args['free-ports'] ? Object.fromEntries(await Promise.all(procs.map(async (p) => [p.name, await freePort()]))) : undefined;

async function portFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch {
    return true;
  }
}
if (!ports) {
  for (const p of procs) {
    if (!(await portFree(p.defaultPort))) {
      out(`Port ${p.defaultPort} (${p.name}) is in use: is another demo still running? Stop it (Ctrl-C in its terminal) and try again.`);
      process.exit(1);
    }
  }
}

out(`terra-transfer demo: ${sites.names().join(', ')} (site file ${sitesFile}), work dir ${workDir}`);
await deleteTopology(prefix).catch(() => undefined);
await deleteKeys(`${prefix}:`).catch(() => undefined);
await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
// Each lemnatec site's test Scanalyzer, before the stack (its source needs the database); its URL goes to that site's source only.
const scanalyzers = new Map<string, ScanalyzerWriter>();
const dropScanalyzers = async () => {
  for (const [name, w] of scanalyzers) {
    scanalyzers.delete(name);
    await w.drop().catch((err: Error) => out(`Could not drop the test Scanalyzer of ${name}: ${err.message}`));
  }
};
const lemnatecEnv: Record<string, Record<string, string>> = {};
for (const site of sites.sites) {
  if (site.source.kind !== 'lemnatec') continue;
  const name = `${prefix}_${site.name}_${process.pid}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z_]/, '_').slice(0, 58);
  try {
    scanalyzers.set(site.name, await ScanalyzerWriter.create(site, name, !args['real-size']));
  } catch (err) {
    out(`Could not create the test Scanalyzer of ${site.name} on PostgreSQL: ${String(err)}`);
    await dropScanalyzers();
    process.exit(1);
  }
  await mkdir(site.source.blobRoot, { recursive: true });
  const proc = procs.find((p) => p.service === 'lemnatec-source' && p.site === site.name)!;
  lemnatecEnv[proc.name] = { [site.source.database.urlEnv]: scanalyzers.get(site.name)!.lt.systemUrl };
}
const { stack, layout } = localStack({ workDir, prefix, logFiles: true, sitesFile, env: lemnatecEnv, ...(ports ? { ports } : {}) });
await prepareLayout(layout);
await mkdir(join(workDir, 'logs'), { recursive: true });
// Every site's folder exists before its source starts (a directory-source is not ready without its root).
for (const s of sites.sites) await mkdir(ownedRoot(s.source).root, { recursive: true });

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  out('\nStopping the stack (services drain their in-flight work)…');
  await stack.stop();
  await dropScanalyzers();
  // What the run declared goes with it (leftover quorum queues cost the broker file handles).
  await deleteTopology(prefix).catch(() => undefined);
  await deleteKeys(`${prefix}:`).catch(() => undefined);
  await dropTransferLogDatabase(transferLogDatabaseUrl(prefix)).catch(() => undefined);
  out('Stopped (queues, Redis keys and databases of this run deleted).');
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
  await dropScanalyzers();
  process.exit(1);
}
const tlog = stack.url('transfer-log');
out(`The transfer log's status page: ${tlog}/ (API ${tlog}/docs)`);

/** What writes each site's files, chosen from its source kind (and markers) in the site file. */
interface Writer {
  site: Site; label: string; expected(): ExpectedFile[]; run(): Promise<void>; extra(): string;
  /** The files with their checksums once checked (default `expected()`). */
  verified?(): Promise<ExpectedFile[]>;
  /** Beyond the transfer log's counts, what must hold before the site is done (a lemnatec source has emptied its staging). */
  settled?(): Promise<boolean>;
}
let rotations = 0;
const writers: Writer[] = sites.sites.map((site): Writer => {
  if (site.source.kind === 'xferlog') {
    if (basename(site.source.xferlog) !== 'xferlog') throw new Error(`site ${site.name}: the demo's gantry writes <folder>/xferlog, not ${site.source.xferlog}`);
    const gantry = new Gantry({ cacheRoot: site.source.cacheRoot, logDir: dirname(site.source.xferlog), ftpRoot: site.source.ftpRoot ?? '/gantry_data', rotateEvery: Number(args['rotate-every']), keep: 50 });
    const rotate = gantry.rotate.bind(gantry);
    gantry.rotate = async () => {
      rotations++;
      await rotate();
    };
    return {
      site, label: 'gantry (xferlog)', expected: () => gantry.expected(), extra: () => `, ${gantry.uploads.length - gantry.expected().length} log lines not to send, ${rotations} log rotations`,
      run: async () => {
        for (let i = 0; i < datasets && !stopping; i++) {
          await gantry.dataset();
          await sleep(1000 / rate);
        }
      },
    };
  }
  if (site.source.kind === 'directory') {
    const w = new InstrumentWriter(site);
    return {
      site, label: w.kind === 'drone' ? 'drone flights (directory)' : 'sequencer runs (directory, completion markers)', expected: () => w.expected(), extra: () => '',
      run: async () => {
        for (let i = 0; i < folders && !stopping; i++) {
          await w.folder();
          await sleep(2000 / rate);
        }
      },
    };
  }
  const lt = scanalyzers.get(site.name);
  if (lt) {
    const staging = ownedRoot(site.source).root;
    return {
      site, label: `LemnaTec Scanalyzer (lemnatec, ${args['real-size'] ? 'real-size' : 'small'} images, metadata first)`, expected: () => lt.expected(), verified: () => lt.verified(),
      extra: () => `, ${lt.snapshots} snapshots${lt.problems.length ? `; failed the check against the Scanalyzer: ${lt.problems.slice(0, 3).map((p) => `${p.rel} (${p.why})`).join('; ')}` : ''}`,
      settled: async () => (await Promise.all(lt.expected().map((f) => stat(join(staging, f.rel)).then(() => 1, () => 0)))).every((n) => n === 0),
      run: async () => {
        for (let i = 0; i < snapshots && !stopping; i++) {
          await lt.snapshot();
          await sleep(2000 / rate);
        }
      },
    };
  }
  return { site, label: `${site.source.kind} (no writer in the demo)`, expected: () => [], extra: () => '', run: async () => undefined };
});

const started = Date.now();
let generating = true;
const generator = Promise.all(writers.map((w) => w.run())).then(() => {
  generating = false;
});

const logged = async (): Promise<Record<string, LoggedFiles>> => Object.fromEntries(await Promise.all(writers.map(async (w) =>
  [w.site.name, await loggedFiles(tlog, w.site, new Set(w.expected().map((f) => f.rel))).catch(() => ({ seen: 0, transferred: 0, deleted: 0, ingested: 0, failed: 0 }))])));
const siteDone = (w: Writer, c: LoggedFiles) => {
  const n = w.expected().length;
  return c.transferred >= n && c.ingested >= n && (w.site.deletion.policy === 'never' || c.deleted >= n);
};

let lastKey = '';
let lastChange = Date.now();
const timeoutMs = Number(args['timeout-s']) * 1000;
let finished = true;
for (;;) {
  await sleep(2000);
  const c = await logged();
  const now = Date.now();
  const parts = writers.map((w) => {
    const x = c[w.site.name]!;
    return `${w.site.name}: written ${w.expected().length} sent ${x.seen} arrived ${x.transferred} ingested ${x.ingested}${w.site.deletion.policy === 'never' ? '' : ` deleted ${x.deleted}`}`;
  });
  const line = `[${String(Math.round((now - started) / 1000)).padStart(4)}s] ${parts.join(' | ')}`;
  if (tty) stream.write(`\r${line}  `);
  else out(line);
  const key = JSON.stringify(c) + writers.map((w) => w.expected().length).join();
  if (key !== lastKey) lastChange = now;
  lastKey = key;
  if (!generating && writers.every((w) => siteDone(w, c[w.site.name]!)) && (await Promise.all(writers.map((w) => w.settled?.() ?? true))).every(Boolean)) break;
  if (now - started > timeoutMs || now - lastChange > 60_000) {
    out(`\nThe pipeline did not finish (${now - lastChange > 60_000 ? 'no progress for 60 s' : 'timeout'}); see the logs in ${join(workDir, 'logs')}.`);
    finished = false;
    break;
  }
}
await generator;
if (tty) out('');

// Verify what an operator would: every file is at its site's destination with its bytes, gone from the cache where the
// site deletes (still there where it never does), in Clowder once; and the transfer log's volumes say the same.
const expected = Object.fromEntries(await Promise.all(writers.map(async (w) => [w.site.name, w.verified ? await w.verified() : w.expected()] as const)));
const { sites: perSite, all } = await verifySites(stack, sites, expected, { globusDetail: true });
const c = await logged();
const volumes = await loggedVolumes(tlog).catch(() => ({} as Record<string, { files: number; bytes: number }>));
const global: string[] = [];
const dead = Object.values(all.deadLettered).reduce((a, b) => a + b, 0);
if (dead) global.push(`${dead} dead-lettered messages`);
if (all.clowder.duplicates || all.clowder.files !== all.expected || all.clowder.distinctFilePaths !== all.expected) {
  // Which kind of duplicate (spaces, collections, datasets, file paths, dataset metadata), for the operator.
  const kinds = await fetch(`${stack.url('clowder-sim')}/admin/summary`, { headers: { authorization: `Bearer ${LOCAL.simAdminToken}` } })
    .then(async (r) => Object.entries(((await r.json()) as { duplicates: Record<string, unknown[]> }).duplicates).filter(([, d]) => d.length > 0).map(([k, d]) => `${k}: ${JSON.stringify(d.slice(0, 2))}`).join('; '))
    .catch(() => '');
  global.push(`Clowder holds ${all.clowder.files} files (${all.clowder.distinctFilePaths} paths, ${all.clowder.duplicates} duplicates${kinds ? `: ${kinds}` : ''}) for ${all.expected} expected`);
}
if (all.globus.pathsTransferredTwice.length) global.push(`${all.globus.pathsTransferredTwice.length} paths moved twice by Globus`);
if (all.ledger.unexplained.length) global.push(`${all.ledger.unexplained.length} ledger records stuck with no reason`);
if (!finished) global.push('did not finish');
const outcomes: Record<string, SiteOutcome> = Object.fromEntries(writers.map((w) => [w.site.name, siteOutcome(perSite[w.site.name]!, c[w.site.name]!, volumes[w.site.name], global)]));
const ok = Object.values(outcomes).every((o) => o.result === 'ok');
const secs = (Date.now() - started) / 1000;

out('');
out('Summary per site ("completed": at the destination with its bytes and registered in Clowder, and deleted from the cache where the site\'s policy deletes; a "never" site keeps its files)');
for (const w of writers) {
  const v = perSite[w.site.name]!;
  const o = outcomes[w.site.name]!;
  const vol = volumes[w.site.name] ?? { files: 0, bytes: 0 };
  out(`  ${w.site.name} — ${w.label}, deletion ${w.site.deletion.policy}`);
  out(`    files written                ${v.expected}${w.extra()}`);
  out(`    at destination, same bytes   ${v.arrived} (${v.bytesAtDestination} bytes) in ${w.site.clowder.localRoot}`);
  out(`    transfer log: arrived        ${vol.files} files, ${vol.bytes} bytes (/api/v1/volumes) ${vol.bytes === v.bytesAtDestination && vol.files === v.arrived ? '= destination' : '≠ destination'}`);
  out(`    ingested / deleted / lost    ${o.ingested} / ${v.keeps ? `0 (kept by policy; ${v.inSource.length} still in ${ownedRoot(w.site.source).root})` : o.deleted} / ${o.lost}`);
  out(`    completed                    ${o.completed} of ${v.expected}: ${o.result === 'ok' ? 'OK' : `FAILED: ${o.problems!.join('; ')}`}`);
}
out(`  Globus                         ${all.globus.tasks} tasks, ${all.globus.filesTransferred} files moved, ${all.globus.pathsTransferredTwice.length} moved twice`);
out(`  Clowder                        ${all.clowder.collections} collections, ${all.clowder.datasets} datasets, ${all.clowder.files} files (${all.clowder.distinctFilePaths} paths), ${all.clowder.duplicates} duplicates`);
out(`  elapsed                        ${secs.toFixed(1)} s`);
out(`  result                         ${ok ? 'OK: every site\'s files arrived, were registered once, and the transfer log counts what is at the destination' : 'NOT OK: see above and the logs'}`);
out('');
out('Inspect the running stack:');
out(`  transfer log (status page)     ${tlog}/`);
out('  RabbitMQ management UI         http://127.0.0.1:15672 (guest/guest), queues "' + prefix + '.*"');
for (const p of procs) out(`  ${`${p.name}${p.site ? ` (${p.site})` : ''}`.padEnd(30)} ${stack.url(p.name)}/metrics  /docs  /readyz`);
out(`  logs                           ${join(workDir, 'logs')}`);
out(`  write endpoints token          ${LOCAL.apiToken} (Clowder key ${CLOWDER_COMM_KEY})`);
if (args.json) process.stdout.write(`${JSON.stringify({ sites: Object.fromEntries(Object.entries(outcomes).map(([k, o]) => [k, o])) })}\n`);
if (args.exit) await stop(ok ? 0 : 1);
out('\nThe stack keeps running. Ctrl-C stops it cleanly.');
