import { setTimeout as sleep } from 'node:timers/promises';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';

const exec = promisify(execFile);

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitPort(port: number, open: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await portOpen(port)) !== open) {
    if (Date.now() > deadline) throw new Error(`port ${port} did not ${open ? 'open' : 'close'} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/**
 * A port below the kernel's ephemeral range (32768+) that is free now. Ports
 * from listen(0), which other tests and services take all the time, and the
 * local ends of outgoing connections all come from the ephemeral range; a
 * broker that takes seconds to boot must not race them for its port.
 */
async function quietPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface PrivateRabbitOptions {
  /**
   * Extra `rabbitmq.conf` settings, e.g. `{ consumer_timeout: 60000 }` (a
   * delivery unacknowledged for longer closes its channel and is redelivered,
   * as on a production broker with that setting).
   */
  conf?: Record<string, string | number>;
  /**
   * Settings of the `rabbit` application that rabbitmq.conf cannot express,
   * written to advanced.config as Erlang terms: e.g. `{ channel_tick_interval:
   * 5000 }` (how often a channel checks its consumer timeouts; 60 s by
   * default, so a timeout is enforced up to a minute late).
   */
  advanced?: Record<string, number>;
  /** Plugins to enable on this node only (e.g. `['rabbitmq_shovel']`); none by default. */
  plugins?: readonly string[];
}

export interface PrivateRabbit {
  url: string;
  port: number;
  /** Its Erlang node name (`terra-xxxxxx@localhost`). */
  node: string;
  /** Kills the node's VM with SIGKILL (a crashed machine); `start()` brings it back with its data. */
  kill9: () => Promise<void>;
  start: () => Promise<void>;
  restart: () => Promise<void>;
  stop: () => Promise<void>;
  logTail: (lines?: number) => Promise<string>;
  /** rabbitmqctl against this node (and only it); returns its stdout. */
  ctl: (...args: string[]) => Promise<string>;
}

/**
 * A private RabbitMQ node (own node name, ports and data directory) for a
 * test that restarts the broker or needs settings of its own: the machine's
 * broker, which other tests use at the same time, is never touched. Its data
 * survives `restart()`.
 */
export async function startPrivateRabbit(o: PrivateRabbitOptions = {}): Promise<PrivateRabbit> {
  // A start that fails (a port taken during the boot, a node that dies in it) is tried again on other ports.
  for (let attempt = 1; ; attempt++) {
    const node = await privateRabbit(o);
    try {
      await node.start();
      return node;
    } catch (err) {
      const tail = await node.logTail(30);
      await node.stop().catch(() => undefined);
      if (attempt >= 3) throw new Error(`private RabbitMQ did not start: ${String(err)}\n${tail}`, { cause: err });
    }
  }
}

async function privateRabbit(o: PrivateRabbitOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'terra-rabbit-'));
  const port = await quietPort();
  const distPort = await quietPort();
  const node = `terra-${randomBytes(3).toString('hex')}@localhost`;
  for (const d of ['mnesia', 'log']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'enabled_plugins'), `[${(o.plugins ?? []).join(',')}].\n`);
  const extra = Object.entries(o.conf ?? {}).map(([k, v]) => `${k} = ${v}\n`).join('');
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = ${port}\nloopback_users = none\n${extra}`);
  const advanced = Object.entries(o.advanced ?? {}).map(([k, v]) => `{${k}, ${v}}`).join(', ');
  await writeFile(join(dir, 'advanced.config'), `[{rabbit, [${advanced}]}].\n`);
  // rabbitmq-server drops to the rabbitmq user: it must own its directories.
  const { stdout } = await exec('id', ['-u', 'rabbitmq']).catch(() => ({ stdout: '' }));
  const { stdout: gid } = await exec('id', ['-g', 'rabbitmq']).catch(() => ({ stdout: '' }));
  if (stdout.trim()) for (const d of [dir, join(dir, 'mnesia'), join(dir, 'log'), join(dir, 'enabled_plugins'), join(dir, 'rabbitmq.conf'), join(dir, 'advanced.config')]) await chown(d, Number(stdout), Number(gid));
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const start = async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('rabbitmq-server', ['-detached'], { env, stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
    await waitPort(port, true, 60_000);
    // Something listening is not yet our node booted: ask the node itself, then speak AMQP to the port.
    await exec('rabbitmqctl', ['-n', node, 'await_startup', '-t', '60'], { env, timeout: 70_000 });
    const conn = await amqplib.connect(url);
    await conn.close();
  };
  const stop = async () => {
    await exec('rabbitmqctl', ['-n', node, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
    await waitPort(port, false, 30_000);
  };
  /** The last lines of the node's own log (for a test's failure message). */
  const logTail = async (lines = 20): Promise<string> => {
    try {
      const logs = (await readdir(join(dir, 'log'))).filter((f) => f.endsWith('.log'));
      const text = (await Promise.all(logs.map((f) => readFile(join(dir, 'log', f), 'utf8')))).join('\n');
      return text.split('\n').slice(-lines).join('\n');
    } catch (err) {
      return `(no RabbitMQ log: ${String(err)})`;
    }
  };
  const kill9 = async () => {
    const pid = Number((await readFile(join(dir, 'pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone already */ }
    }
    await waitPort(port, false, 30_000);
  };
  return {
    url,
    port,
    node,
    kill9,
    start,
    logTail,
    ctl: async (...args: string[]) => (await exec('rabbitmqctl', ['-n', node, '-q', ...args], { env, timeout: 60_000 })).stdout,
    restart: async () => {
      await stop();
      await start();
    },
    stop: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Messages ready in each queue (checkQueue over AMQP, so no management
 * plugin is needed); a queue that does not exist counts as absent, not 0.
 */
export async function queueDepths(url: string, queues: readonly string[]): Promise<Record<string, number | null>> {
  const conn = await amqplib.connect(url);
  const out: Record<string, number | null> = {};
  try {
    for (const q of queues) {
      // A missing queue closes the channel it was asked on: one channel per question.
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      out[q] = await ch.checkQueue(q).then((r) => r.messageCount, () => null);
      await ch.close().catch(() => undefined);
    }
    return out;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * A RabbitMQ cluster of `size` private nodes on this machine (each with its
 * own node name, AMQP and distribution ports, data and log directories, the
 * machine's Erlang cookie): nodes 2.. join node 1. Quorum queues declared on
 * it are replicated to every node. `stop()` stops them all.
 */
export async function startPrivateCluster(size = 3, o: PrivateRabbitOptions = {}): Promise<{ nodes: PrivateRabbit[]; url: string; stop: () => Promise<void> }> {
  const nodes = await Promise.all(Array.from({ length: size }, () => startPrivateRabbit(o)));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  };
  try {
    const first = nodes[0]!;
    for (const n of nodes.slice(1)) {
      const ctl = (...args: string[]) => exec('rabbitmqctl', ['-n', n.node, ...args], { timeout: 90_000 });
      await ctl('stop_app');
      await ctl('join_cluster', first.node);
      await ctl('start_app');
      await exec('rabbitmqctl', ['-n', n.node, 'await_startup', '-t', '60'], { timeout: 70_000 });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, url: nodes.map((n) => n.url).join(','), stop };
}
