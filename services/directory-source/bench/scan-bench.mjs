// Scan memory bench (outside src/: never shipped). Usage:
//   node --expose-gc services/directory-source/bench/scan-bench.mjs <root> [files] [cap] [watch|scan]
// Builds <root>/runs/d*/... with `files` empty files when absent, then runs one
// full scan (nothing settles: 1 h) and prints time, RSS and heap after GC.
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { AmqpClient, Redis, createLogger, createRegistry } from '@terra-transfer/platform';
import { DirectorySource } from '../dist/app.js';
import { SentStore } from '../dist/adapters/sent-store.js';

const [root = '/tmp/dirsrc-bench', filesArg = '50000', capArg = '1000', watch = 'watch'] = process.argv.slice(2);
const FILES = Number(filesArg);
const PER_DIR = 1000;
const exists = await stat(`${root}/runs`).then(() => true, () => false);
if (!exists) {
  for (let d = 0; d < Math.ceil(FILES / PER_DIR); d++) {
    await mkdir(`${root}/runs/d${d}`, { recursive: true });
    await Promise.all(Array.from({ length: Math.min(PER_DIR, FILES - d * PER_DIR) }, (_, i) => writeFile(`${root}/runs/d${d}/file-with-a-longish-name-${i}.dat`, '')));
  }
}
const prefix = `bench-dirsrc-${process.pid}`;
const logger = createLogger({ service: 'bench', level: 'warn' });
const amqp = new AmqpClient({ url: 'amqp://guest:guest@127.0.0.1:5672', prefix, connectionName: 'bench', logger, registry: createRegistry() });
await amqp.start();
const redis = new Redis('redis://127.0.0.1:6379');
const mb = (n) => (n / 2 ** 20).toFixed(1);
global.gc();
const base = process.memoryUsage();
let peak = base.rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const source = new DirectorySource({
  site: 'bench', root, settleMs: 3_600_000, poll: false, pollIntervalMs: 1000, whitelist: ['runs'], exclude: [],
  watch: watch === 'watch', fullScanIntervalMs: 3_600_000, tickMs: 1000, maxSettling: Number(capArg), maxHints: 10_000, chunk: 500, publishWindow: 64,
  amqp, sent: new SentStore(redis, prefix, 'bench'), logger, registry: createRegistry(),
});
const t0 = performance.now();
await source.tick(true);
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
global.gc();
const after = process.memoryUsage();
console.log(JSON.stringify({ files: FILES, mode: watch, seconds: +seconds.toFixed(1), settling: source.settlingCount(), rssBaseMb: mb(base.rss), rssPeakMb: mb(peak), heapBeforeMb: mb(base.heapUsed), heapAfterGcMb: mb(after.heapUsed) }));
await source.stop(1000);
await amqp.close(1000);
await redis.del(`${prefix}:directory-source:bench:sent`);
redis.disconnect();
