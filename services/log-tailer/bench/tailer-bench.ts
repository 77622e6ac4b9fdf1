/**
 * `make bench-tailer`: replays a generated xferlog against the real broker and
 * prints one JSON line.
 *   parse_lines_per_sec          parseXferlog alone, on lines already in memory: after one warm-up
 *                                pass, the best of three timed rounds of LINES parses
 *   publish_lines_per_sec        the real service (dist/main.js): from spawn until its durable
 *                                cursor (confirmed lines only) reaches the end of the log
 *   broker_confirmed_msgs_per_sec the broker's ceiling in the same run: same count, same message
 *                                size, same quorum queue, same confirm window, no log; measured
 *                                before and after the service's run, the higher of the two
 *                                (both in broker_runs_msgs_per_sec)
 *   service_cpu_us_per_line      CPU (user + system) the log-tailer process used per line, in µs
 *   ceiling_client_cpu_us_per_msg the same for the ceiling runs' publisher (before, after)
 *   broker_cpu_us_per_msg        RabbitMQ's CPU (every beam.smp) per message: ceiling before, service run, ceiling after
 *   peak_rss_mb                  peak resident set (VmHWM) of the log-tailer process
 * Settings (env): BENCH_LINES (1,000,000), BENCH_FILES (distinct files on disk, 100,000),
 * BENCH_WINDOW (publish window, 1000), BENCH_CHECKPOINT_MS (the service's CHECKPOINT_INTERVAL_MS; unset:
 * its default, 500), AMQP_URL.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { createEvent } from '@terra-transfer/contracts';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AmqpClient, createLogger, createRegistry } from '@terra-transfer/platform';
import { processCpuSeconds, totalCpuSecondsByName } from '@terra-transfer/testkit';
import { topology } from '@terra-transfer/contracts';
import { decodeCursor } from '../src/core/cursor.js';
import { parseXferlog } from '../src/core/xferlog.js';

const LINES = Number(process.env['BENCH_LINES'] ?? 1_000_000);
const FILES = Math.min(LINES, Number(process.env['BENCH_FILES'] ?? 100_000));
const WINDOW = Number(process.env['BENCH_WINDOW'] ?? 1000);
const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const PER_DIR = 1000;
/** The service's checkpoint interval (BENCH_CHECKPOINT_MS); unset, the service's default. */
const CHECKPOINT_MS = process.env['BENCH_CHECKPOINT_MS'];
/** V8 flags for the service process (BENCH_NODE_FLAGS, space-separated), e.g. a heap cap. */
const NODE_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const say = (msg: string) => process.stderr.write(`bench-tailer: ${msg}\n`);
const dirOf = (f: number) => `MovingSensor/stereoTop/2016-08-02/2016-08-02__09-${String(Math.floor(f / PER_DIR) % 60).padStart(2, '0')}-${String(Math.floor(f / PER_DIR / 60) % 60).padStart(2, '0')}-${String(Math.floor(f / PER_DIR)).padStart(3, '0')}`;
const nameOf = (f: number) => `img_${String(f).padStart(7, '0')}.bin`;
const lineOf = (i: number) => {
  const f = i % FILES;
  return `Tue Aug  2 09:43:${String(i % 60).padStart(2, '0')} 2016 1 ::ffff:150.135.84.81 ${1000 + (i % 5000)} /${dirOf(f)}/${nameOf(f)} b _ i r lemnatec ftp 0 * c\n`;
};

/** CPU seconds used so far by every RabbitMQ node on this machine (beam.smp processes). */
const brokerCpuSeconds = () => totalCpuSecondsByName(/^beam\.smp$/);

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'terra-bench-tailer-'));
  const prefix = `bench-tailer-${process.pid}`;
  const queue = topology(prefix, ['ua-mac']).queue({ key: 'batcherUploads', site: 'ua-mac' });
  const logger = createLogger({ service: 'bench-tailer', level: 'silent' });
  const registry = createRegistry();
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'bench-tailer', logger, registry, publishTimeoutMs: 120_000, sites: ['ua-mac'] });
  // The queue would otherwise hold every message (on a broker others share): purge as we go, in both runs alike.
  const admin = await amqplib.connect(AMQP_URL);
  const adminCh = await admin.createChannel();
  // A purge of a queue that does not exist yet closes the channel: use a fresh one each time.
  const purger = setInterval(() => {
    void (async () => {
      const ch = await admin.createChannel();
      ch.on('error', () => undefined);
      await ch.purgeQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    })().catch(() => undefined);
  }, 2000);
  try {
    // 1. Files on disk and the log.
    const cache = join(root, 'cache');
    say(`creating ${FILES} files`);
    for (let f = 0; f < FILES; f++) {
      if (f % PER_DIR === 0) mkdirSync(join(cache, dirOf(f)), { recursive: true });
      writeFileSync(join(cache, dirOf(f), nameOf(f)), '');
    }
    say(`writing ${LINES} lines`);
    const log = join(root, 'log', 'xferlog');
    mkdirSync(join(root, 'log'));
    const out = createWriteStream(log);
    for (let i = 0; i < LINES; i += 1000) {
      let chunk = '';
      for (let j = i; j < Math.min(LINES, i + 1000); j++) chunk += lineOf(j);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const size = (await stat(log)).size;

    // 2. Parser alone: 100k distinct lines in memory, parsed until LINES parses
    // are done, after a warm-up pass (the service is long-running: steady state counts).
    const sample = Array.from({ length: Math.min(100_000, LINES) }, (_, i) => lineOf(i).slice(0, -1));
    for (const line of sample) parseXferlog(line);
    // Three timed rounds; the best counts (the others are in parse_runs_lines_per_sec).
    const parseRuns: number[] = [];
    for (let round = 0; round < 3; round++) {
      let okCount = 0;
      const p0 = process.hrtime.bigint();
      for (let done = 0; done < LINES; ) {
        for (let k = 0; k < sample.length && done < LINES; k++, done++) if (parseXferlog(sample[k]!).ok) okCount++;
      }
      parseRuns.push(LINES / (Number(process.hrtime.bigint() - p0) / 1e9));
      if (okCount !== LINES) throw new Error(`parser rejected ${LINES - okCount} generated lines`);
    }

    // The broker's ceiling: same count, same body size, same queue, same window, no log.
    // Measured before and after the service's run; the higher figure counts (the
    // broker slows as its quorum log grows, and the ratio must not gain from that).
    await amqp.start();
    const sampleEvent = createEvent('file.uploaded', `xferlog:0123456789abcdef:${size}`, {
      site: 'ua-mac', sensor: 'stereoTop', path: join(cache, dirOf(FILES - 1), nameOf(FILES - 1)), size: 0, mtimeMs: Date.now(),
      ftpTime: '2016-08-02T09:43:00.000Z', source: 'xferlog', attempt: 1, uploadId: `xferlog:0123456789abcdef:${size}`,
    });
    const ceilingCpuUs: number[] = [];
    /** Broker CPU per message: ceiling before, the service's run, ceiling after. */
    const brokerCpuUs: number[] = [];
    const brokerCeiling = async (): Promise<number> => {
      const cpu0 = process.cpuUsage();
      const broker0 = brokerCpuSeconds();
      let inFlight = 0;
      const waiters: Array<() => void> = [];
      const b0 = process.hrtime.bigint();
      for (let i = 0; i < LINES; i++) {
        while (inFlight >= WINDOW) await new Promise<void>((r) => waiters.push(r));
        inFlight++;
        void amqp.publish(sampleEvent).then(() => {
          inFlight--;
          waiters.shift()?.();
        });
      }
      while (inFlight > 0) await new Promise<void>((r) => waiters.push(r));
      const cpu = process.cpuUsage(cpu0);
      ceilingCpuUs.push(Math.round(((cpu.user + cpu.system) / LINES) * 10) / 10);
      brokerCpuUs.push(Math.round(((brokerCpuSeconds() - broker0) / LINES) * 1e7) / 10);
      return LINES / (Number(process.hrtime.bigint() - b0) / 1e9);
    };
    say('broker ceiling run (before)');
    const ceilingBefore = await brokerCeiling();

    // 3. Log → confirmed publish, by the real service as deployed (dist/main.js in
    // its own process, so its RSS is its own): timed from spawn until its
    // durable cursor reaches the end of the log.
    say('tailer run (dist/main.js)');
    const stateDir = join(root, 'state');
    const cursorFile = join(stateDir, `${log.replace(/[^A-Za-z0-9._-]+/g, '_')}.cursor.json`);
    const port = await freePort();
    // The site's facts (log, cache root, whitelist) come from a site file, as in a deployment.
    const sitesFile = join(root, 'sites.yaml');
    writeFileSync(sitesFile, stringifySites([testSite({ cacheRoot: cache, xferlog: log, whitelist: ['MovingSensor/stereoTop'] })]));
    const brokerAtServiceStart = brokerCpuSeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', AMQP_URL, AMQP_PREFIX: prefix, LOG_LEVEL: 'error', SITES_FILE: sitesFile, SITE: 'ua-mac',
        STATE_DIR: stateDir, PUBLISH_WINDOW: String(WINDOW), ...(CHECKPOINT_MS ? { CHECKPOINT_INTERVAL_MS: CHECKPOINT_MS } : {}),
      },
    });
    const rssAt: number[] = [];
    let peakRssKb = 0;
    let tailSec = 0;
    let serviceCpuSec = 0;
    let published = 0;
    let lastQuarter = 0;
    let lastOff = -1;
    let lastMoveAt = Date.now();
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`log-tailer exited with ${child.exitCode}`);
        if (Date.now() - lastMoveAt > 60_000) throw new Error('the log-tailer made no progress for 60 s');
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakRssKb = Math.max(peakRssKb, hwm);
        let off = 0;
        try {
          off = decodeCursor(await readFile(cursorFile, 'utf8')).files.find((f) => !f.retired)?.offset ?? 0;
        } catch { /* not written yet */ }
        if (off !== lastOff) {
          lastOff = off;
          lastMoveAt = Date.now();
        }
        const q = Math.floor((off / size) * 4);
        if (q > lastQuarter) {
          rssAt.push(Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024));
          lastQuarter = q;
        }
        if (off >= size) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      tailSec = Number(process.hrtime.bigint() - t0) / 1e9;
      serviceCpuSec = processCpuSeconds(child.pid!) ?? NaN;
      brokerCpuUs.push(Math.round(((brokerCpuSeconds() - brokerAtServiceStart) / LINES) * 1e7) / 10);
      // Every line became a confirmed event (the service's own counter).
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      published = Number(/^terra_transfer_xferlog_events_published_total (\d+)/m.exec(metrics)?.[1] ?? -1);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    if (published !== LINES) throw new Error(`the service published ${published} of ${LINES} lines`);
    say('broker ceiling run (after)');
    const ceilingAfter = await brokerCeiling();
    const brokerRate = Math.max(ceilingBefore, ceilingAfter);

    const result = {
      lines: LINES,
      files_on_disk: FILES,
      log_bytes: size,
      publish_window: WINDOW,
      parse_lines_per_sec: Math.round(Math.max(...parseRuns)),
      parse_runs_lines_per_sec: parseRuns.map(Math.round),
      publish_lines_per_sec: Math.round(LINES / tailSec),
      broker_confirmed_msgs_per_sec: Math.round(brokerRate),
      broker_runs_msgs_per_sec: [Math.round(ceilingBefore), Math.round(ceilingAfter)],
      publish_vs_broker: Math.round((LINES / tailSec / brokerRate) * 1000) / 1000,
      message_bytes: Buffer.byteLength(JSON.stringify(sampleEvent)),
      // CPU the service used per line (user + system), far less sensitive than rates to a busy machine.
      service_cpu_us_per_line: Math.round((serviceCpuSec / LINES) * 1e7) / 10,
      // The same for the ceiling runs' publisher (this process, before and after): what publishing alone costs.
      ceiling_client_cpu_us_per_msg: ceilingCpuUs,
      // RabbitMQ's CPU per message: ceiling before, the service's run, ceiling after.
      broker_cpu_us_per_msg: brokerCpuUs,
      peak_rss_mb: Math.round(peakRssKb / 1024),
      rss_mb_at_quarters: rssAt,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    clearInterval(purger);
    await amqp.close(1000).catch(() => undefined);
    try {
      for (const q of [queue, `${queue}.dlq`, ...topology(prefix, ['ua-mac']).queues().flatMap((t) => [t.name, t.deadLetter])]) await adminCh.deleteQueue(q).catch(() => undefined);
    } catch { /* best effort */ }
    // Every queue and exchange of the bench's prefix.
    const { execFile } = await import('node:child_process');
    const names = await new Promise<string[]>((resolve) => execFile('rabbitmqctl', ['-q', 'list_queues', 'name', '--no-table-headers'], (err, stdout) => resolve(err ? [] : stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(`${prefix}.`)))));
    const ch = await admin.createChannel().catch(() => undefined);
    for (const n of names) await ch?.deleteQueue(n).catch(() => undefined);
    for (const x of [`${prefix}.events`, `${prefix}.dlx`]) await ch?.deleteExchange(x).catch(() => undefined);
    await admin.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-tailer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
