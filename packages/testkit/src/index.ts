import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';

const exec = promisify(execFile);

export { freePort, tempDir, waitFor } from './basics.js';
import { freePort, tempDir, waitFor } from './basics.js';

export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A name no other test (or earlier run) uses: keys, queues and exchanges live under it. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** A logger that writes nothing unless TEST_LOG is set (then JSON to stderr). */
export function testLogger(): Logger {
  return pino({ level: process.env['TEST_LOG'] ?? 'silent' }, process.stderr);
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await exec('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

/**
 * A throwaway vhost for tests that disturb the broker (closing all
 * connections), so they cannot hurt tests running beside them.
 */
export async function createVhost(name: string): Promise<{ url: string; vhost: string; remove: () => Promise<void> }> {
  const vhost = uniquePrefix(name);
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  return {
    vhost,
    url: `${AMQP_URL}/${encodeURIComponent(vhost)}`,
    remove: async () => {
      await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
    },
  };
}

/** Deletes every queue and exchange whose name starts with `prefix.`. */
export async function deleteTopology(prefix: string, url = AMQP_URL): Promise<void> {
  const vhost = decodeURIComponent(new URL(url).pathname.slice(1)) || '/';
  const list = async (what: string) =>
    (await rabbitmqctl(`list_${what}`, '-p', vhost, 'name', '--no-table-headers').catch(() => ''))
      .split('\n').map((s) => s.trim()).filter((n) => n.startsWith(`${prefix}.`));
  const conn = await amqp.connect(url);
  try {
    for (const q of await list('queues')) {
      const ch = await conn.createChannel();
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of await list('exchanges')) {
      const ch = await conn.createChannel();
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * Drains a queue of events that carry `data.uploadId` (file.uploaded) and
 * counts each upload id: a test of "every file sent exactly once" then checks
 * the total, the number of ids and that every count is 1.
 */
export async function uploadIdCounts(url: string, queue: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const m of await drainQueue(url, queue)) {
    const id = (JSON.parse(m.content.toString()) as { data: { uploadId: string } }).data.uploadId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Drains a queue without a consumer (basic.get), acking what it reads. */
export async function drainQueue(url: string, queue: string): Promise<amqp.GetMessage[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: false });
      if (!m) break;
      out.push(m);
      ch.ack(m);
    }
    await ch.close();
    return out;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Deletes every Redis key under `prefix`. */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Every hash whose key matches `pattern` (SCAN), with its fields: for reading state from the outside, e.g. ledger records. */
export async function scanHashes(url: string, pattern: string): Promise<Map<string, Record<string, string>>> {
  const r = new Redis(url);
  const out = new Map<string, Record<string, string>>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = r.pipeline();
      for (const k of keys) pipe.hgetall(k);
      const res = (await pipe.exec()) ?? [];
      res.forEach(([err, h], i) => {
        if (!err && h && typeof h === 'object') out.set(keys[i]!, h as Record<string, string>);
      });
    } while (cursor !== '0');
    return out;
  } finally {
    r.disconnect();
  }
}

/**
 * A private redis-server with AOF (appendfsync always), for tests that
 * restart Redis: the machine's Redis keeps nothing on disk.
 */
export async function startPrivateRedis(): Promise<{ url: string; port: number; restart: () => Promise<void>; kill: () => Promise<void>; stop: () => Promise<void> }> {
  const dir = await tempDir('redis');
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir.path, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    await waitFor('private redis', async () => {
      const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } finally {
        r.disconnect();
      }
    }, 15_000, 100);
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      await dir.remove();
    },
  };
}

export { queueDepths, startPrivateCluster, startPrivateRabbit, type PrivateRabbit, type PrivateRabbitOptions } from './rabbit.js';
export * from './ftp.js';
export * from './proc-cpu.js';
export { killHard, runServiceMain, serviceProbe, waitForStandby, type ServiceProbe, type ServiceProcess } from './service-process.js';
