import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { AmqpClient, buildHttp, createLogger, createRedis, closeRedis, createRegistry, Lifecycle } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteTopology, freePort, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';

describe('HTTP server factory', () => {
  async function app(checks: Record<string, () => boolean | Promise<boolean>>, authToken?: string) {
    const registry = createRegistry();
    const a = await buildHttp({ service: 'test', logger: testLogger(), registry, checks, authToken });
    a.post('/api/v1/things', { onRequest: a.requireToken, schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => ({ ok: true }));
    await a.ready();
    return a;
  }

  it('serves health, readiness, metrics and OpenAPI', async () => {
    const a = await app({ amqp: () => true, redis: async () => true });
    expect((await a.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await a.inject('/readyz')).statusCode).toBe(200);
    const m = await a.inject('/metrics');
    expect(m.headers['content-type']).toMatch(/text\/plain/);
    expect(m.body).toContain('process_cpu_user_seconds_total');
    const spec = (await a.inject('/docs/json')).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toContain('/api/v1/things');
    expect((await a.inject('/docs')).statusCode).toBeLessThan(400);
  });

  it('reports not ready, naming the failing dependency', async () => {
    const a = await app({ amqp: () => false, redis: () => Promise.reject(new Error('down')) });
    const r = await a.inject('/readyz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ ready: false, checks: { amqp: false, redis: false } });
  });

  it('guards write endpoints with the bearer token and validates bodies', async () => {
    const a = await app({}, 'tok-123');
    const post = (headers: Record<string, string>, body: unknown) => a.inject({ method: 'POST', url: '/api/v1/things', headers, payload: body as object });
    expect((await post({}, { name: 'x' })).statusCode).toBe(401);
    expect((await post({}, { nope: 1 })).statusCode).toBe(401); // auth before validation: no schema hints for strangers
    expect((await post({ authorization: 'Bearer wrong' }, { name: 'x' })).statusCode).toBe(401);
    expect((await post({ authorization: 'Bearer tok-123' }, { name: 'x' })).json()).toEqual({ ok: true });
    const bad = await post({ authorization: 'Bearer tok-123' }, { nope: 1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('BAD_REQUEST');
    const m = (await a.inject('/metrics')).body;
    expect(m).toMatch(/terra_transfer_http_requests_total\{route="\/api\/v1\/things",method="POST",status="401"\} 3/);
    // Every answered request is timed too, per route (five POSTs before the scrape).
    expect(m).toMatch(/terra_transfer_http_request_duration_seconds_count\{route="\/api\/v1\/things",method="POST"\} 5/);
  });

  it('refuses writes when no token is configured', async () => {
    const a = await app({});
    expect((await a.inject({ method: 'POST', url: '/api/v1/things', payload: { name: 'x' } })).statusCode).toBe(503);
  });
});

describe('readiness follows the real dependencies', () => {
  it('is false while the broker or Redis cannot be reached, true once they can', async () => {
    const deadPort = await freePort();
    const registry = createRegistry();
    const logger = testLogger();
    const prefix = uniquePrefix('ready');
    const downAmqp = new AmqpClient({ url: `amqp://guest:guest@127.0.0.1:${deadPort}`, prefix, connectionName: 'ready-down', logger, registry });
    void downAmqp.start().catch(() => undefined);
    const downRedis = createRedis({ url: `redis://127.0.0.1:${deadPort}`, connectionName: 'ready-down', logger });
    downRedis.on('error', () => undefined);
    const upAmqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'ready-up', logger, registry: createRegistry() });
    const upRedis = createRedis({ url: REDIS_URL, connectionName: 'ready-up', logger });
    try {
      const down = await buildHttp({ service: 't', logger, registry, checks: { amqp: () => downAmqp.isConnected(), redis: () => downRedis.status === 'ready' } });
      const r = await down.inject('/readyz');
      expect(r.statusCode).toBe(503);
      expect(r.json().checks).toEqual({ amqp: false, redis: false });
      await upAmqp.start();
      const up = await buildHttp({ service: 't', logger, registry: createRegistry(), checks: { amqp: () => upAmqp.isConnected(), redis: () => upRedis.status === 'ready' } });
      await waitFor('redis ready', () => upRedis.status === 'ready');
      expect((await up.inject('/readyz')).statusCode).toBe(200);
    } finally {
      await Promise.all([downAmqp.close(0), upAmqp.close(0), closeRedis(downRedis), closeRedis(upRedis)]);
      await deleteTopology(prefix);
    }
  });
});

describe('logs', () => {
  it('redact secrets wherever they travel', () => {
    let out = '';
    const sink = new Writable({ write(chunk, _e, cb) { out += chunk; cb(); } });
    const log = createLogger({ service: 's', destination: sink });
    log.info({ authorization: 'Bearer abc', req: { headers: { authorization: 'Bearer abc' } }, client_secret: 'xyz', path: '/cache/a' }, 'hello');
    log.flush?.();
    expect(out).toContain('"service":"s"');
    expect(out).toContain('"path":"/cache/a"');
    expect(out).not.toContain('abc');
    expect(out).not.toContain('xyz');
  });
});

describe('lifecycle', () => {
  it('runs every shutdown step once, in reverse order, even when one fails', async () => {
    const order: string[] = [];
    const l = new Lifecycle(testLogger());
    l.onShutdown('first', () => void order.push('first'));
    l.onShutdown('broken', () => {
      order.push('broken');
      throw new Error('boom');
    });
    l.onShutdown('last', async () => void order.push('last'));
    await Promise.all([l.shutdown('a'), l.shutdown('b')]);
    await l.shutdown('c');
    expect(order).toEqual(['last', 'broken', 'first']);
  });

  it('a service with a bad config exits 78 naming every bad key', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/drain-worker.mjs', import.meta.url))], {
      env: { PATH: process.env['PATH'] ?? '', AMQP_URL: 'http://not-amqp', HANDLER_MS: 'slow' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(78);
    expect(stderr).toMatch(/AMQP_URL/);
    expect(stderr).toMatch(/HANDLER_MS must be an integer/);
    expect(stderr).toMatch(/STATE_KEY is required/);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(4);
  });
});
