import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootService, buildHttp, ConfigError, Lifecycle } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteTopology, freePort, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';

const base = (port: number, prefix: string) => ({
  LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', HTTP_PORT: port, AMQP_URL, AMQP_PREFIX: prefix, AMQP_SIDE: 'both' as const,
  AMQP_DELIVERY_LIMIT: 10, REDIS_URL, SHUTDOWN_DRAIN_MS: 1000,
});

describe('bootService', () => {
  it('waits for the required file, opens what is asked, serves HTTP, and shuts everything down once', async () => {
    const dir = await tempDir('boot');
    const prefix = uniquePrefix('boot');
    const port = await freePort();
    const file = join(dir.path, 'sites.yaml');
    try {
      const booting = bootService({
        service: 'boot-test', config: base(port, prefix), signals: false, redis: true,
        requiredFile: { key: 'SITES_FILE', path: file },
        prepare: () => ({ sites: ['ua-mac'] }),
        amqp: (p) => ({ sites: p.sites }),
      });
      // The probes answer on the service's port while the file is missing.
      let ready: Response | undefined;
      for (let i = 0; i < 100 && !ready; i++) ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(async () => (await new Promise((r) => setTimeout(r, 20)), undefined));
      expect(ready?.status).toBe(503);
      await writeFile(file, 'sites: []');
      const boot = await booting;
      expect(boot.prepared).toEqual({ sites: ['ua-mac'] });
      await boot.amqp.start();
      expect(await boot.redis.ping()).toBe('PONG');

      const http = await buildHttp({ service: 'boot-test', logger: boot.logger, registry: boot.registry, checks: { broker: () => boot.amqp.isConnected() } });
      await boot.serve(http);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

      // The service's own step runs before the connections close: HTTP first, then the app, then AMQP, then Redis.
      const order: string[] = [];
      boot.lifecycle.onShutdown('app', () => void order.push(`app redis=${boot.redis.status} amqp=${boot.amqp.isConnected()}`));
      await Promise.all([boot.lifecycle.shutdown('test'), boot.lifecycle.shutdown('again')]);
      expect(order).toEqual(['app redis=ready amqp=true']);
      await waitFor('redis closed', () => boot.redis.status === 'end', 5000);
      expect(boot.amqp.isConnected()).toBe(false);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await deleteTopology(prefix);
      await dir.remove();
    }
  });

  it('a ConfigError from prepare comes before anything opens', async () => {
    const port = await freePort();
    await expect(bootService({
      service: 'boot-test', config: base(port, uniquePrefix('boot')), signals: false, redis: true,
      prepare: () => {
        throw new ConfigError([{ key: 'SITES_FILE', problem: 'is broken' }]);
      },
    })).rejects.toThrow(/SITES_FILE is broken/);
  });
});

describe('Lifecycle runsAfter', () => {
  it('runs a step right after the one it names', async () => {
    const order: string[] = [];
    const l = new Lifecycle(testLogger());
    l.onShutdown('redis', () => void order.push('redis'));
    l.onShutdown('amqp', () => void order.push('amqp'));
    l.onShutdown('batcher', () => void order.push('batcher'), { runsAfter: 'amqp' });
    l.onShutdown('http', () => void order.push('http'));
    await l.shutdown('x');
    expect(order).toEqual(['http', 'amqp', 'batcher', 'redis']);
    expect(() => l.onShutdown('x', () => undefined, { runsAfter: 'nope' })).toThrow(/nope/);
  });
});
