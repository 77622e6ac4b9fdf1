import { spawn } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { AmqpClient, DEAD_LETTER_HEADERS, PermanentError, TransientError, UpstreamUnavailableError, createRegistry } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, createVhost, deleteKeys, deleteTopology, drainQueue, queueDepth, rabbitmqctl, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { createEvent } from '@terra-transfer/contracts';
import { uploaded } from './helpers.js';

/** The per-site queue the test events (site ua-mac) are routed to. */
const UPLOADS = { key: 'batcherUploads', site: 'ua-mac' } as const;
const clients: AmqpClient[] = [];
function client(prefix: string, extra: Partial<ConstructorParameters<typeof AmqpClient>[0]> = {}) {
  const c = new AmqpClient({ url: AMQP_URL, prefix, connectionName: `test-${prefix}`, logger: testLogger(), registry: createRegistry(), reconnectMinMs: 50, reconnectMaxMs: 500, sites: ['ua-mac'], ...extra });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close(1_000)));
});

describe('AmqpClient against the real broker', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = uniquePrefix('amqp');
  });
  afterEach(async () => {
    await deleteTopology(prefix);
  });

  it('resolves a publish only once the broker confirmed it, and the message is in the bound queue', async () => {
    const registry = createRegistry();
    const c = client(prefix, { registry });
    await c.start();
    await c.publish(uploaded(1));
    const got = await drainQueue(AMQP_URL, c.topology.queue(UPLOADS));
    expect(got.map((m) => JSON.parse(m.content.toString()).id)).toEqual(['e-1']);
    expect(got[0]!.properties.deliveryMode).toBe(2);
    expect(await registry.metrics()).toMatch(/terra_transfer_messages_published_total\{routing_key="file.uploaded.ua-mac",outcome="confirmed"\} 1/);
  });

  it('routes site-routed events to their site\'s queue (decided by publish from data.site) and every site\'s to an all-site queue', async () => {
    const c = client(prefix, { sites: ['ua-mac', 'field-b'] });
    await c.start();
    const other = createEvent('file.uploaded', 'b-1', { ...uploaded(1).data, site: 'field-b', path: '/b/stereoTop/f1.bin', uploadId: 'b-1' });
    await c.publish(uploaded(1));
    await c.publish(other);
    const ids = async (q: string) => (await drainQueue(AMQP_URL, q)).map((m) => JSON.parse(m.content.toString()).id as string);
    expect(await ids(c.topology.queue({ key: 'batcherUploads', site: 'ua-mac' }))).toEqual(['e-1']);
    expect(await ids(c.topology.queue({ key: 'batcherUploads', site: 'field-b' }))).toEqual(['b-1']);
    // file.transferred of both sites: each cleaner's own queue, and the one ingest queue (wildcard binding).
    const transferred = (site: string, id: string) => createEvent('file.transferred', id, {
      site, taskId: 't', chunk: 0, files: [{ sensor: 'stereoTop', path: `/${site}/a.bin`, sourcePath: '/a.bin', destinationPath: '/d/a.bin', size: 1, mtimeMs: 1, checksum: 'x', checksumAlgorithm: 'MD5', uploadId: id, attempt: 1 }],
    });
    await c.publish(transferred('ua-mac', 't-a'));
    await c.publish(transferred('field-b', 't-b'));
    expect(await ids(c.topology.queue({ key: 'cleanerTransfers', site: 'field-b' }))).toEqual(['t-b']);
    expect((await ids(c.topology.queue('ingestTransfers'))).sort()).toEqual(['t-a', 't-b']);
    // A site that is not in the site file has no batcher queue: the publish is refused, not lost.
    const stranger = createEvent('file.uploaded', 'x-1', { ...uploaded(1).data, site: 'nowhere' });
    await expect(c.publish(stranger)).rejects.toMatchObject({ code: 'UNROUTABLE' });
  });

  it('rejects an unroutable publish instead of reporting success', async () => {
    const c = client(prefix);
    await c.start();
    await expect(c.publishRaw(c.topology.eventsExchange, 'nobody.listens.here', Buffer.from('{}'))).rejects.toMatchObject({ code: 'UNROUTABLE', retryable: false });
    // The channel is still usable afterwards.
    await c.publish(uploaded(2));
    expect(await queueDepth(AMQP_URL, c.topology.queue(UPLOADS))).toBe(1);
  });

  it('fails a publish whose confirm does not come in time, and fails the ones in flight on close', async () => {
    // A TCP relay to the real broker that can stop passing the broker's frames (so its confirms never arrive).
    const relay = await pausableRelay(new URL(AMQP_URL));
    try {
      const registry = createRegistry();
      const url = new URL(AMQP_URL);
      url.host = `127.0.0.1:${relay.port}`;
      const c = client(prefix, { url: url.toString(), registry, publishTimeoutMs: 600 });
      await c.start();
      await c.publish(uploaded(1));
      relay.holdBrokerFrames = true;
      const t0 = Date.now();
      await expect(c.publish(uploaded(2))).rejects.toMatchObject({ code: 'PUBLISH_TIMEOUT', retryable: true });
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(550);
      expect(took).toBeLessThan(600 + 1_000);
      expect(await registry.metrics()).toMatch(/terra_transfer_messages_published_total\{routing_key="file.uploaded.ua-mac",outcome="failed"\} 1/);
      // Still unconfirmed when the client closes: rejected, never left hanging.
      // The broker does not answer the close handshake either: the client drops the socket after its bound.
      const inFlight = c.publish(uploaded(3), { timeoutMs: 60_000 });
      const c0 = Date.now();
      await c.close(100);
      expect(Date.now() - c0).toBeLessThan(5_000);
      await expect(inFlight).rejects.toMatchObject({ code: expect.stringMatching(/^(BROKER_CLOSED|PUBLISH_NACKED)$/), retryable: true });
    } finally {
      relay.close();
    }
  });

  it('consumeRaw hands over every body undecoded (unknown type, newer version, not JSON) and dead-letters none of them', async () => {
    const c = client(prefix);
    await c.start();
    const q = c.topology.queue('transferLog');
    const bodies = [JSON.stringify({ type: 'file.snapshotted', version: 1, id: 'x-1', time: new Date().toISOString(), data: {} }), JSON.stringify({ ...uploaded(1), version: 99 }), 'not json \u00ff'];
    for (const b of bodies) await c.publishRaw('', q, Buffer.from(b), { messageId: 'm', timestamp: 1_700_000_000 });
    await c.publish(uploaded(2));
    const got: Array<{ body: string; routingKey: string; timestamp: number | undefined }> = [];
    c.consumeRaw('transferLog', async (d) => {
      got.push({ body: d.body.toString(), routingKey: d.routingKey, timestamp: d.timestamp });
    });
    await waitFor('four raw deliveries', () => got.length === 4);
    expect(got.slice(0, 3).map((g) => g.body)).toEqual(bodies);
    expect(got[0]!.timestamp).toBe(1_700_000_000);
    expect(got[3]!.routingKey).toBe('file.uploaded.ua-mac');
    await waitFor('acked', async () => (await queueDepth(AMQP_URL, q)) === 0);
    expect(await queueDepth(AMQP_URL, c.topology.deadLetterQueue('transferLog'))).toBe(0);
  });

  it('groupAcks: a batch settled together is acked (nothing comes back), and a delivery still in its handler holds no other ack', async () => {
    const c = client(prefix);
    await c.start();
    const q = c.topology.queue('transferLog');
    for (let i = 1; i <= 8; i++) await c.publishRaw('', q, Buffer.from(`m${i}`), { messageId: `m${i}` });
    const seen: string[] = [];
    const waiting: Array<() => void> = [];
    let releaseFirst!: () => void;
    const first = new Promise<void>((r) => (releaseFirst = r));
    // Prefetch 3: m1 stays in its handler; the others settle in groups (released every 20 ms). Were their acks held behind m1's, the broker would stop at three in flight.
    const consumer = c.consumeRaw('transferLog', async (d) => {
      const body = d.body.toString();
      seen.push(body);
      if (body === 'm1') return first;
      await new Promise<void>((r) => waiting.push(r));
    }, { prefetch: 3, groupAcks: true });
    const release = setInterval(() => waiting.splice(0).forEach((r) => r()), 20);
    try {
      await waitFor('every delivery past the slow one', () => seen.length === 8, 10_000);
      releaseFirst();
      await waitFor('every delivery settled', () => consumer.inFlight === 0, 10_000);
    } finally {
      clearInterval(release);
    }
    await consumer.stop(1_000);
    // Acked ones are gone: nothing is redelivered to a new consumer.
    const again: string[] = [];
    c.consumeRaw('transferLog', async (d) => {
      again.push(d.body.toString());
    }, { groupAcks: true });
    await c.publishRaw('', q, Buffer.from('m9'), { messageId: 'm9' });
    await waitFor('the next message', () => again.includes('m9'), 10_000);
    expect(again).toEqual(['m9']);
    await waitFor('acked', async () => (await queueDepth(AMQP_URL, q)) === 0);
  });

  it('dead-letters a message that keeps failing once the delivery limit is reached', async () => {
    const c = client(prefix, { deliveryLimit: 3 });
    await c.start();
    let attempts = 0;
    c.consume(UPLOADS, 'file.uploaded', async () => {
      attempts++;
      throw new TransientError('GLOBUS_5XX', 'still down');
    }, { retryBaseMs: 10, retryMaxMs: 20 });
    await c.publish(uploaded(3));
    const dlq = c.topology.deadLetterQueue(UPLOADS);
    await waitFor('message in the dead-letter queue', async () => (await queueDepth(AMQP_URL, dlq)) === 1);
    const [dead] = await drainQueue(AMQP_URL, dlq);
    expect(JSON.parse(dead!.content.toString()).id).toBe('e-3');
    const death = (dead!.properties.headers?.['x-death'] as Array<{ reason: string }>)[0];
    expect(death?.reason).toBe('delivery_limit');
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(await queueDepth(AMQP_URL, c.topology.queue(UPLOADS))).toBe(0);
  });

  it('dead-letters a permanent failure at once, with the reason in headers', async () => {
    const c = client(prefix);
    await c.start();
    let attempts = 0;
    c.consume(UPLOADS, 'file.uploaded', async () => {
      attempts++;
      throw new PermanentError('UNSAFE_PATH', 'the path leaves the cache root');
    });
    await c.publish(uploaded(4));
    const dlq = c.topology.deadLetterQueue(UPLOADS);
    await waitFor('dead letter', async () => (await queueDepth(AMQP_URL, dlq)) === 1);
    const [dead] = await drainQueue(AMQP_URL, dlq);
    expect(dead!.properties.headers?.[DEAD_LETTER_HEADERS.code]).toBe('UNSAFE_PATH');
    expect(String(dead!.properties.headers?.[DEAD_LETTER_HEADERS.detail])).toContain('leaves the cache root');
    expect(attempts).toBe(1);
  });

  it.each([
    ['not JSON', Buffer.from('this is {not json'), 'NOT_JSON'],
    ['wrong schema', Buffer.from(JSON.stringify({ ...uploaded(5), data: { path: 'relative' } })), 'SCHEMA_MISMATCH'],
    ['unknown version', Buffer.from(JSON.stringify({ ...uploaded(5), version: 99 })), 'UNKNOWN_VERSION'],
    ['another event type', Buffer.from(JSON.stringify({ type: 'file.deleted', version: 1 })), 'UNKNOWN_TYPE'],
  ])('dead-letters a malformed message (%s), counts it, and keeps consuming', async (_name, body, code) => {
    const registry = createRegistry();
    const c = client(prefix, { registry });
    await c.start();
    const seen: string[] = [];
    c.consume(UPLOADS, 'file.uploaded', async (e) => {
      seen.push(e.id);
    });
    await c.publishRaw(c.topology.eventsExchange, 'file.uploaded.ua-mac', body);
    await c.publish(uploaded(6));
    await waitFor('valid message after the bad one', () => seen.includes('e-6'));
    const dlq = c.topology.deadLetterQueue(UPLOADS);
    await waitFor('dead letter', async () => (await queueDepth(AMQP_URL, dlq)) === 1);
    const [dead] = await drainQueue(AMQP_URL, dlq);
    expect(dead!.properties.headers?.[DEAD_LETTER_HEADERS.code]).toBe(code);
    expect(dead!.content.equals(body)).toBe(true);
    expect(await registry.metrics()).toContain(`terra_transfer_messages_rejected_total{queue="${c.topology.queue(UPLOADS)}",code="${code}"} 1`);
  });
});

describe('upstream outage', () => {
  it('holds consumption, gives deliveries back without counting them, probes, and resumes when the upstream answers', async () => {
    const prefix = uniquePrefix('outage');
    const registry = createRegistry();
    // Two deliveries per message: a requeue per failure would dead-letter everything within a second.
    const c = client(prefix, { deliveryLimit: 2, registry });
    try {
      await c.start();
      let down = true;
      let probes = 0;
      const counts = new Map<string, number[]>();
      const done = new Set<string>();
      const consumer = c.consume(UPLOADS, 'file.uploaded', async (e, ctx) => {
        counts.set(e.id, [...(counts.get(e.id) ?? []), ctx.deliveryCount]);
        if (down) throw new UpstreamUnavailableError('clowder', 'CLOWDER_UNREACHABLE', 'connect ECONNREFUSED');
        done.add(e.id);
      }, {
        prefetch: 10,
        retryBaseMs: 10,
        retryMaxMs: 20,
        probe: async () => {
          probes++;
          if (down) throw new UpstreamUnavailableError('clowder', 'CLOWDER_UNREACHABLE', 'still down');
        },
        probeBackoff: { minMs: 50, maxMs: 200 },
        // Short, so deliveries are given back and come round again several times during the outage.
        outageHoldMs: 300,
      });
      const ids = Array.from({ length: 5 }, (_, i) => `e-${i}`);
      for (let i = 0; i < ids.length; i++) await c.publish(uploaded(i));
      await waitFor('consumer holding for clowder', () => consumer.unavailable === 'clowder');
      // Many probe rounds: far longer than two counted deliveries would last.
      await waitFor('several probes', () => probes >= 6, 10_000);
      const queue = c.topology.queue(UPLOADS);
      expect(consumer.unavailable).toBe('clowder');
      expect(await queueDepth(AMQP_URL, c.topology.deadLetterQueue(UPLOADS))).toBe(0);
      // Held deliveries were given back and came round again: several times each.
      await waitFor('deliveries given back', async () => Number(/outcome="given_back"\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0) >= 2 * ids.length);
      // The handler ran only until the outage was seen: held deliveries do not reach it.
      const tried = [...counts.values()].reduce((n, seen) => n + seen.length, 0);
      expect(tried).toBeGreaterThanOrEqual(1);
      expect(tried).toBeLessThanOrEqual(ids.length);
      down = false;
      await waitFor('all handled after the outage', () => done.size === ids.length, 15_000);
      expect(consumer.unavailable).toBeUndefined();
      expect([...done].sort()).toEqual(ids);
      // Every delivery the handler saw was a first delivery: the outage spent no attempt.
      expect(Object.fromEntries([...counts].filter(([, seen]) => !seen.every((n) => n === 1)))).toEqual({});
      expect(await queueDepth(AMQP_URL, c.topology.deadLetterQueue(UPLOADS))).toBe(0);
      expect(await queueDepth(AMQP_URL, queue)).toBe(0);
      const metrics = await registry.metrics();
      expect(metrics).toContain('terra_transfer_upstream_outages_total{upstream="clowder"} 1');
      expect(metrics).toContain('terra_transfer_upstream_available{upstream="clowder"} 1');
      expect(metrics).toMatch(new RegExp(`terra_transfer_messages_consumed_total\\{queue="${queue}",outcome="given_back"\\} [1-9]`));
      expect(metrics).not.toContain('outcome="requeued"');
    } finally {
      await deleteTopology(prefix);
    }
  });
});

describe('recovery', () => {
  it('keeps consuming and publishing after the broker closes every connection', async () => {
    const vh = await createVhost('reconnect');
    try {
      const prefix = uniquePrefix('rc');
      const pub = client(prefix, { url: vh.url, connectionName: 'reconnect-pub' });
      const sub = client(prefix, { url: vh.url, connectionName: 'reconnect-sub' });
      await Promise.all([pub.start(), sub.start()]);
      const seen = new Set<string>();
      sub.consume(UPLOADS, 'file.uploaded', async (e) => {
        seen.add(e.id);
      });
      for (let i = 0; i < 5; i++) await pub.publish(uploaded(i, 'before'));
      await waitFor('first five', () => seen.size === 5);
      await rabbitmqctl('close_all_connections', '-p', vh.vhost, 'test: broker closes connections');
      await waitFor('both clients notice', () => !pub.isConnected() || !sub.isConnected(), 10_000).catch(() => undefined);
      // publish() waits for the reconnection and resolves on confirm.
      for (let i = 0; i < 5; i++) await pub.publish(uploaded(i, 'after'));
      await waitFor('five more after the reconnect', () => seen.size === 10, 30_000);
      expect(pub.isConnected() && sub.isConnected()).toBe(true);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close(1_000)));
      await vh.remove();
    }
  });
});

describe('channel closed by the broker', () => {
  it('reopens the consumer channel and redelivers what was unacked', async () => {
    const prefix = uniquePrefix('chan');
    const c = client(prefix);
    try {
      await c.start();
      const seen: string[] = [];
      let breakIt = true;
      const consumer = c.consume(UPLOADS, 'file.uploaded', async (e) => {
        if (breakIt) {
          breakIt = false;
          // Acking an unknown delivery tag makes the broker close this channel (PRECONDITION_FAILED), as a consumer_timeout would.
          (consumer as unknown as { channel: { ack(m: unknown): void } }).channel.ack({ fields: { deliveryTag: 999_999 } });
          await new Promise((r) => setTimeout(r, 300));
          throw new Error('channel is gone');
        }
        seen.push(e.id);
      });
      await c.publish(uploaded(1));
      await waitFor('redelivery on the reopened channel', () => seen.includes('e-1'), 15_000);
      await c.publish(uploaded(2));
      await waitFor('later messages too', () => seen.includes('e-2'), 15_000);
      expect(c.isConnected()).toBe(true);
    } finally {
      await deleteTopology(prefix);
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM finishes in-flight work and loses no message', async () => {
    const prefix = uniquePrefix('drain');
    const key = `${prefix}:state`;
    const c = client(prefix);
    await c.start();
    const ids = Array.from({ length: 30 }, (_, i) => `e-${i}`);
    for (let i = 0; i < ids.length; i++) await c.publish(uploaded(i));
    const worker = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/drain-worker.mjs', import.meta.url))], {
      env: { ...process.env, AMQP_PREFIX: prefix, STATE_KEY: key, HANDLER_MS: '400' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (d) => (stderr += d));
    const redis = new Redis(REDIS_URL);
    try {
      await waitFor('work in flight', async () => (await redis.scard(`${key}:started`)) >= 5);
      const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
      const started = await redis.smembers(`${key}:started`);
      const done = new Set(await redis.smembers(`${key}:done`));
      // Everything it started, it finished (and acked) before exiting.
      expect(started.filter((id) => !done.has(id))).toEqual([]);
      // Nothing lost: each message is either done or still in the queue.
      const left = (await drainQueue(AMQP_URL, c.topology.queue(UPLOADS))).map((m) => JSON.parse(m.content.toString()).id as string);
      expect([...done, ...left].sort()).toEqual([...ids].sort());
      expect(left.filter((id) => done.has(id))).toEqual([]);
    } catch (err) {
      throw new Error(`${String(err)}\nworker stderr: ${stderr}`, { cause: err });
    } finally {
      worker.kill('SIGKILL');
      redis.disconnect();
      await deleteKeys(prefix);
      await deleteTopology(prefix);
    }
  });
});

/** A TCP relay to `target`; while `holdBrokerFrames` is set, bytes from the broker are held back (dropped). */
async function pausableRelay(target: URL): Promise<{ port: number; holdBrokerFrames: boolean; close: () => void }> {
  const sockets = new Set<Socket>();
  const relay = {
    port: 0,
    holdBrokerFrames: false,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
  const server = createServer((client) => {
    const broker = createConnection(Number(target.port || 5672), target.hostname);
    sockets.add(client).add(broker);
    client.on('data', (d) => broker.write(d));
    broker.on('data', (d) => {
      if (!relay.holdBrokerFrames) client.write(d);
    });
    for (const s of [client, broker]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        broker.destroy();
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  relay.port = (server.address() as { port: number }).port;
  return relay;
}
