import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import type { Logger } from 'pino';
import { DEFAULT_DECLARATION_OPTIONS, declarations, routingKey, topology as makeTopology, type BrokerSide, type Message, type MessageType, type QueueRef, type Topology } from '@terra-transfer/contracts';
import { PermanentError, TransientError } from '../errors.js';
import { safeUrl } from '../logger.js';
import type { Registry } from '../metrics.js';
import { amqpTelemetry, type AmqpTelemetry } from './telemetry.js';
import { TRACEPARENT_HEADER, outgoingTraceparent } from '../trace.js';
import { backoffDelay } from '../backoff.js';
import { sleep } from '../sleep.js';
import { Consumer, type ConsumerOptions, type Handler, type RawHandler } from './consumer.js';

export interface AmqpClientOptions {
  url: string;
  /** Name prefix of every exchange and queue (see contracts/topology.ts). */
  prefix?: string;
  /**
   * Every site of the site file (not only those this service serves): their
   * per-site queues are declared, so a publish for any site finds its queues.
   */
  sites?: readonly string[];
  /**
   * Which queues the broker holds (AMQP_SIDE): `both` (one broker), or one side of two brokers
   * linked by shovels: that side's queues, its outbox and its inbound exchange (contracts' topology).
   */
  side?: 'both' | BrokerSide;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  logger: Logger;
  registry: Registry;
  /** x-delivery-limit of every consumer queue: deliveries before the broker dead-letters a message. */
  deliveryLimit?: number;
  /** How long a publish may wait for a connection and its confirm before it fails (transient). */
  publishTimeoutMs?: number;
  /** Messages a tap queue (file-outcomes) keeps; the oldest are dropped beyond it. */
  tapMaxLength?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  heartbeatSeconds?: number;
}


/** Nacks in a row after which the publisher channel is replaced (see publish()). */
const NACKS_BEFORE_NEW_CHANNEL = 3;
/** How often overdue publisher confirms are looked for (a publish timeout fires at most this late). */
const CONFIRM_SWEEP_MS = 250;

/** How long close() waits for the broker's answer to connection.close before it drops the socket. */
const CLOSE_HANDSHAKE_MS = 2_000;

/** Publish properties as send() passes them on: persistent, mandatory, with the sequence in correlationId. */
type SendProps = Options.Publish & { correlationId: string; persistent: true; mandatory: true };

interface Unconfirmed {
  deadline: number;
  settled: boolean;
  /** Settles it as failed (timed out, or the client closed). */
  fail: (code: 'PUBLISH_TIMEOUT' | 'BROKER_CLOSED', why: string) => void;
}

/**
 * One broker connection per service: a confirm channel for publishing, one
 * channel per consumer. It reconnects with jittered backoff for as long as the
 * service runs, re-declares the topology and restarts the consumers each time.
 */
export class AmqpClient {
  readonly topology: Topology;
  readonly telemetry: AmqpTelemetry;
  readonly logger: Logger;
  private readonly opts: Required<Omit<AmqpClientOptions, 'logger' | 'registry'>>;
  private conn: ChannelModel | undefined;
  private publisher: ConfirmChannel | undefined;
  private drained: Promise<void> | undefined;
  private readonly returned = new Set<string>();
  private readonly consumers = new Set<Consumer<MessageType>>();
  private waiters: Array<() => void> = [];
  private readonly unconfirmed = new Set<Unconfirmed>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(options: AmqpClientOptions) {
    this.opts = {
      prefix: 'terra',
      ...DEFAULT_DECLARATION_OPTIONS,
      publishTimeoutMs: 30_000,
      reconnectMinMs: 200,
      reconnectMaxMs: 10_000,
      heartbeatSeconds: 10,
      sites: [],
      side: 'both',
      ...options,
    };
    this.topology = makeTopology(this.opts.prefix, this.opts.sites, this.opts.side === 'both' ? undefined : this.opts.side);
    this.logger = options.logger;
    this.telemetry = amqpTelemetry(options.logger, options.registry);
  }

  /** Connects (retrying until it succeeds or the client is closed). */
  async start(): Promise<void> {
    this.loop ??= this.connectLoop();
    await this.waitConnected(Infinity);
  }

  /** @internal The live connection, if any (consumers reopen their channel only on it). */
  get connection(): ChannelModel | undefined {
    return this.conn;
  }

  isConnected(): boolean {
    return this.publisher !== undefined;
  }

  /** x-delivery-limit of the consumer queues this client declares. */
  get deliveryLimit(): number {
    return this.opts.deliveryLimit;
  }

  /**
   * Publishes an event (validated by createEvent) and resolves once the broker
   * confirmed it. The routing key is the contract's (routingKey: the type,
   * with the site for site-routed types); a publisher never chooses it.
   */
  publish<T extends MessageType>(event: Message<T>, opts: { timeoutMs?: number } = {}): Promise<void> {
    // Every field send() sets is already here, so setting it keeps the object's shape.
    const props: SendProps = {
      messageId: event.id,
      type: event.type,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(event.time) / 1000),
      correlationId: '',
      persistent: true,
      mandatory: true,
      // The publishing handler's trace, one span further; a source (no handler) starts a trace.
      headers: { [TRACEPARENT_HEADER]: outgoingTraceparent() },
    };
    return this.publishOwned(this.topology.eventsExchange, routingKey(event), Buffer.from(JSON.stringify(event)), props, opts);
  }

  /**
   * Publishes persistent and mandatory, and waits for the confirm. Rejects with
   * PermanentError UNROUTABLE when no queue is bound (basic.return), and with a
   * TransientError when the broker nacks, the connection is down or the
   * confirm does not come in time: the caller must not count it as sent.
   *
   * The client owns `correlationId` on publish: it carries the publish
   * sequence (`<pid>-<n>`) that matches a basic.return to its publish.
   */
  publishRaw(exchange: string, routingKey: string, body: Buffer, props: Options.Publish = {}, opts: { timeoutMs?: number } = {}): Promise<void> {
    return this.publishOwned(exchange, routingKey, body, { ...props, correlationId: '', persistent: true, mandatory: true }, opts);
  }

  /** Publishes with properties the client owns (it sets the sequence in them). */
  private publishOwned(exchange: string, routingKey: string, body: Buffer, props: SendProps, opts: { timeoutMs?: number }): Promise<void> {
    const deadline = performance.now() + (opts.timeoutMs ?? this.opts.publishTimeoutMs);
    // The common case (connected, write buffer not full) without an await in between.
    if (this.publisher && !this.drained) return this.send(this.publisher, exchange, routingKey, body, props, deadline);
    return this.publishWhenReady(exchange, routingKey, body, props, deadline);
  }

  private async publishWhenReady(exchange: string, routingKey: string, body: Buffer, props: SendProps, deadline: number): Promise<void> {
    for (;;) {
      const ch = await this.waitConnected(deadline - performance.now());
      if (this.drained) {
        await Promise.race([this.drained, sleep(Math.max(0, deadline - performance.now()))]);
        if (performance.now() >= deadline) throw new TransientError('PUBLISH_TIMEOUT', `publish to ${routingKey}: write buffer did not drain in time`);
        continue;
      }
      return this.send(ch, exchange, routingKey, body, props, deadline);
    }
  }

  private send(ch: ConfirmChannel, exchange: string, routingKey: string, body: Buffer, props: SendProps, deadline: number): Promise<void> {
    const seq = `${process.pid}-${++this.seq}`;
    props.correlationId = seq;
    return new Promise<void>((resolve, reject) => {
      const pending: Unconfirmed = {
        deadline,
        settled: false,
        fail: (code, why) => {
          pending.settled = true;
          this.telemetry.published(routingKey, 'failed');
          reject(new TransientError(code, `publish to ${routingKey}: ${why}`));
        },
      };
      const onConfirm = (err: unknown) => {
        const wasReturned = this.returned.delete(seq);
        if (pending.settled) return;
        pending.settled = true;
        this.unconfirmed.delete(pending);
        if (wasReturned) {
          this.telemetry.published(routingKey, 'unroutable');
          reject(new PermanentError('UNROUTABLE', `no queue is bound to ${exchange} for routing key ${routingKey}`));
        } else if (err) {
          this.telemetry.published(routingKey, 'nacked');
          // After a cluster node is lost, RabbitMQ 3.10 may nack every publish on a channel that was open across the
          // quorum queues' leader change, for minutes, while a new channel's publishes are confirmed at once
          // (test/cluster): a channel nacked this often in a row is replaced (with its connection, the one recovery path).
          if (++this.nackedInARow >= NACKS_BEFORE_NEW_CHANNEL && this.publisher === ch) {
            this.nackedInARow = 0;
            this.logger.warn({ nacks: NACKS_BEFORE_NEW_CHANNEL }, 'publishes nacked in a row: replacing the publisher channel and its connection');
            void ch.close().catch(() => undefined);
          }
          reject(new TransientError('PUBLISH_NACKED', `broker did not confirm the publish to ${routingKey}: ${String(err)}`));
        } else {
          this.nackedInARow = 0;
          this.telemetry.published(routingKey, 'confirmed');
          resolve();
        }
      };
      this.unconfirmed.add(pending);
      this.sweepTimer ??= setInterval(() => this.sweepUnconfirmed(), CONFIRM_SWEEP_MS).unref();
      try {
        const ok = ch.publish(exchange, routingKey, body, props, onConfirm);
        if (!ok) this.drained ??= new Promise<void>((r) => ch.once('drain', () => { this.drained = undefined; r(); }));
      } catch (err) {
        onConfirm(err);
      }
    });
  }

  /** Fails the publishes whose confirm is overdue (one timer for all of them, not one per publish), or all of them. */
  private sweepUnconfirmed(all = false): void {
    const now = performance.now();
    for (const p of this.unconfirmed) {
      if (!all && p.deadline > now) continue;
      this.unconfirmed.delete(p);
      if (p.settled) continue;
      if (all) p.fail('BROKER_CLOSED', 'the AMQP client closed before the broker confirmed it');
      else p.fail('PUBLISH_TIMEOUT', 'no confirm within the timeout');
    }
  }

  /** Starts consuming a queue of the topology (a per-site queue names its site); the consumer survives reconnections. */
  consume<T extends MessageType>(queue: QueueRef, types: T | readonly T[], handler: Handler<T>, options: ConsumerOptions = {}): Consumer<T> {
    const consumer = new Consumer<T>(this, this.topology.queue(queue), types, handler, options);
    this.consumers.add(consumer as unknown as Consumer<MessageType>);
    if (this.conn) void consumer.attach(this.conn);
    return consumer;
  }

  /**
   * Consumes a queue without decoding: the handler gets every body as it
   * came (unknown types, newer versions, non-JSON) and decides what to do;
   * acks, requeues, outages and the delivery limit work as in consume().
   */
  consumeRaw(queue: QueueRef, handler: RawHandler, options: Omit<ConsumerOptions, 'raw'> = {}): Consumer<MessageType> {
    const consumer = new Consumer<MessageType>(this, this.topology.queue(queue), [], handler, { ...options, raw: true });
    this.consumers.add(consumer);
    if (this.conn) void consumer.attach(this.conn);
    return consumer;
  }

  /** @internal */
  forget(consumer: Consumer<MessageType>): void {
    this.consumers.delete(consumer);
  }

  /** Stops every consumer (draining in-flight work), then closes the connection. Idempotent. */
  close(drainTimeoutMs = 10_000): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.wake?.();
      await Promise.all([...this.consumers].map((c) => c.stop(drainTimeoutMs)));
      const conn = this.conn;
      this.conn = undefined;
      this.publisher = undefined;
      for (const w of this.waiters.splice(0)) w();
      if (conn) await closeWithin(conn, CLOSE_HANDSHAKE_MS);
      await this.loop?.catch(() => undefined);
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepUnconfirmed(true);
    })();
    return this.closed;
  }

  /** Waits until a publisher channel is up, or throws TransientError after `ms`. */
  private async waitConnected(ms: number): Promise<ConfirmChannel> {
    const deadline = performance.now() + ms;
    while (!this.publisher) {
      if (this.closing) throw new TransientError('BROKER_CLOSED', 'the AMQP client is closing');
      const left = deadline - performance.now();
      if (left <= 0) throw new TransientError('BROKER_UNAVAILABLE', 'no connection to the broker');
      await new Promise<void>((resolve) => {
        const t = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.waiters.push(() => {
          if (t) clearTimeout(t);
          resolve();
        });
      });
    }
    return this.publisher;
  }

  /** Publishes nacked in a row on the current publisher channel. */
  private nackedInARow = 0;

  private async connectLoop(): Promise<void> {
    let attempt = 0;
    let everConnected = false;
    // A cluster's nodes: each attempt takes the next one, so a dead node costs one attempt.
    const urls = amqpUrls(this.opts.url);
    let next = 0;
    while (!this.closing) {
      const url = urls[next % urls.length]!;
      next++;
      try {
        const conn = await amqp.connect(withHeartbeat(url, this.opts.heartbeatSeconds), {
          timeout: 10_000,
          clientProperties: { connection_name: this.opts.connectionName },
        });
        if (this.closing) {
          await conn.close().catch(() => undefined);
          return;
        }
        conn.on('error', () => undefined); // 'close' follows and carries the story
        corkWrites(conn);
        conn.on('blocked', (reason: string) => this.telemetry.blocked(reason));
        await this.declareTopology(conn);
        const pub = await conn.createConfirmChannel();
        pub.on('error', () => undefined);
        pub.on('return', (msg) => {
          const seq: unknown = msg.properties.correlationId;
          if (typeof seq === 'string') this.returned.add(seq);
        });
        const lost = new Promise<string>((resolve) => {
          conn.once('close', (err?: Error) => resolve(err ? String(err.message ?? err) : 'closed'));
          // A publisher channel that dies alone (it should not) takes the connection with it, so one path recovers both.
          pub.once('close', () => {
            if (this.conn === conn && !this.closing) void conn.close().catch(() => undefined);
          });
        });
        this.conn = conn;
        this.publisher = pub;
        this.telemetry.connected(safeUrl(url), everConnected ? 1 : 0);
        everConnected = true;
        attempt = 0;
        for (const w of this.waiters.splice(0)) w();
        for (const c of this.consumers) void c.attach(conn);
        const reason = await lost;
        this.conn = undefined;
        this.publisher = undefined;
        this.drained = undefined;
        this.returned.clear();
        for (const c of this.consumers) c.detach();
        if (this.closing) return;
        this.telemetry.disconnected(reason);
      } catch (err) {
        const delay = backoffDelay(attempt, { baseMs: this.opts.reconnectMinMs, maxMs: this.opts.reconnectMaxMs, jitter: 0.5 });
        attempt++;
        if (this.closing) return;
        this.telemetry.connectFailed(err instanceof Error ? err.message : err, attempt, Math.round(delay));
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  /**
   * Declares the whole topology: every service declares everything, so a
   * publish never finds a queue missing because its consumer has not started.
   * Quorum queues with an explicit delivery limit (RabbitMQ 3.10 has none by
   * default) and at-least-once dead-lettering to a per-queue dead-letter queue.
   */
  private async declareTopology(conn: ChannelModel): Promise<void> {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    // The same declarations as deploy/rabbitmq/definitions.json (packages/contracts declarations()).
    const d = declarations(this.topology, { deliveryLimit: this.opts.deliveryLimit, tapMaxLength: this.opts.tapMaxLength });
    for (const x of d.exchanges) await ch.assertExchange(x, 'topic', { durable: true });
    for (const q of d.queues) await ch.assertQueue(q.name, { durable: true, arguments: q.arguments });
    for (const b of d.bindings) await ch.bindQueue(b.queue, b.exchange, b.routingKey);
    await ch.close();
  }
}

/**
 * amqplib writes every frame set to the socket on its own (a syscall per
 * message); its multiplexer writes whatever is ready in one pass, so corking
 * the socket around that pass turns a burst of publishes into one writev.
 * This reaches into amqplib's internals (the version is pinned) and does
 * nothing when they are not shaped as expected: it only saves syscalls.
 */
function corkWrites(conn: ChannelModel): void {
  const c = conn.connection as unknown as { muxer?: { _readIncoming?: () => void }; stream?: { cork?: () => void; uncork?: () => void } };
  const mux = c.muxer;
  const stream = c.stream;
  if (!mux || typeof mux._readIncoming !== 'function' || typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
  const pass = mux._readIncoming.bind(mux);
  mux._readIncoming = () => {
    stream.cork!();
    try {
      pass();
    } finally {
      stream.uncork!();
    }
  };
}

/**
 * Closes the connection with the broker's handshake, or, when the broker does
 * not answer within `ms`, by dropping the socket: a broker that stopped
 * answering must not hold a shutdown.
 */
async function closeWithin(conn: ChannelModel, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    conn.close().then(() => true, () => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  // With an error: amqplib learns of a socket's end only through 'error' or 'end'.
  if (!answered) (conn.connection as unknown as { stream?: { destroy(err: Error): void } }).stream?.destroy(new Error(`the broker did not answer connection.close within ${ms} ms`));
}

/** `AMQP_URL` may name several nodes of a cluster, separated by commas. */
export function amqpUrls(url: string): string[] {
  const urls = url.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new Error('no AMQP URL');
  return urls;
}

/** Heartbeats detect a dead peer; amqplib takes them from the URL (a URL's own `heartbeat` is kept). */
export function withHeartbeat(url: string, seconds: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
  return u.toString();
}
