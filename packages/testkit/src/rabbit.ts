import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './index.js';

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
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A private RabbitMQ node (own node name, ports and data directory) for a
 * test that restarts the broker: the machine's broker, which other tests
 * use at the same time, is never touched. Its data survives `restart()`.
 */
export async function startPrivateRabbit(): Promise<{ url: string; port: number; restart: () => Promise<void>; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-rabbit-'));
  // Ports the OS just handed out (free now), not random ones that may collide with passive FTP ranges and the like.
  const port = await freePort();
  const distPort = await freePort();
  const node = `terra-${randomBytes(3).toString('hex')}@localhost`;
  for (const d of ['mnesia', 'log']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = ${port}\nloopback_users = none\n`);
  // rabbitmq-server drops to the rabbitmq user: it must own its directories.
  const { stdout } = await exec('id', ['-u', 'rabbitmq']).catch(() => ({ stdout: '' }));
  const { stdout: gid } = await exec('id', ['-g', 'rabbitmq']).catch(() => ({ stdout: '' }));
  if (stdout.trim()) for (const d of [dir, join(dir, 'mnesia'), join(dir, 'log'), join(dir, 'enabled_plugins'), join(dir, 'rabbitmq.conf')]) await chown(d, Number(stdout), Number(gid));
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
  };
  const start = async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('rabbitmq-server', ['-detached'], { env, stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
    await waitPort(port, true, 60_000);
  };
  const stop = async () => {
    await exec('rabbitmqctl', ['-n', node, 'stop'], { env, timeout: 60_000 }).catch(() => undefined);
    await waitPort(port, false, 30_000);
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
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
