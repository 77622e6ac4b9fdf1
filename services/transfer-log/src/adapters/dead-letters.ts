import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { DeclaredQueue } from '@terra-transfer/contracts';
import { amqpUrls, withHeartbeat, type AmqpClient } from '@terra-transfer/platform';

/** The broker a depth was read on: `both` when one broker holds every queue (AMQP_SIDE=both), else its side. */
export type DeadLetterBroker = 'both' | 'site' | 'datacentre';

export interface DeadLetterDepth {
  /** The consumer queue whose dead letters these are (topology key, e.g. `batcher`). */
  key: string;
  /** The site of a per-site queue (absent for a queue that serves every site). */
  site?: string;
  queue: string;
  /** Which broker holds the queue and answered for it. */
  broker: DeadLetterBroker;
  /** Messages waiting in the dead-letter queue; null when its broker did not answer for it. */
  messages: number | null;
}

/**
 * A broker the depths are read on: the dead-letter queues of `queues` (taps have none), and a channel
 * to passively declare them on. `channel()` answers undefined when the broker is known to be down
 * (nothing to count), throws when reaching it failed (a read error).
 */
export interface DeadLetterSource {
  broker: DeadLetterBroker;
  queues: readonly DeclaredQueue[];
  channel(): Promise<Channel | undefined>;
  /** The channel failed: the next read opens another; `broken` (no answer in time): the connection too, if it is the source's own. */
  discard(ch: Channel, broken?: boolean): void;
  close(): Promise<void>;
}

/**
 * Depths of the dead-letter queues of one or two brokers, read with AMQP
 * `checkQueue` (a passive declare: it never creates, changes or consumes a
 * queue), so no management API is needed. A `checkQueue` that fails (the
 * broker closes the channel) answers null for that queue and is counted; a
 * broker that does not answer makes its queues null, never the others'.
 * Answers are cached for `ttlMs` so a wall of open status pages costs each
 * broker one round of passive declares per period.
 */
export class DeadLetterDepths {
  private cached: { at: number; value: DeadLetterDepth[] | null } | undefined;
  private pending: Promise<DeadLetterDepth[] | null> | undefined;

  constructor(
    private readonly sources: readonly DeadLetterSource[],
    private readonly onError: (err: unknown, broker: DeadLetterBroker) => void,
    private readonly ttlMs = 5_000,
    /** A broker that does not answer one passive declare within this is given up on for this read (a status never waits on a dead link). */
    private readonly answerTimeoutMs = 3_000,
  ) {}

  /** Null when no broker is connected at all. */
  depths(): Promise<DeadLetterDepth[] | null> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return Promise.resolve(this.cached.value);
    this.pending ??= Promise.all(this.sources.map((s) => this.read(s)))
      .then((read) => {
        const value = read.every((r) => r.answered === false) ? null : read.flatMap((r) => r.depths);
        this.cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async read(source: DeadLetterSource): Promise<{ answered: boolean; depths: DeadLetterDepth[] }> {
    const queues = source.queues.filter((q) => !q.tap);
    const depth = (q: DeclaredQueue, messages: number | null): DeadLetterDepth => ({
      key: q.key, ...(q.site !== undefined ? { site: q.site } : {}), queue: q.deadLetter, broker: source.broker, messages,
    });
    let channel: Channel | undefined;
    try {
      channel = await source.channel();
    } catch (err) {
      this.onError(err, source.broker);
      return { answered: false, depths: queues.map((q) => depth(q, null)) };
    }
    if (!channel) return { answered: false, depths: queues.map((q) => depth(q, null)) };
    const out: DeadLetterDepth[] = [];
    let silent = false;
    for (const q of queues) {
      let messages: number | null = null;
      if (!silent) {
        try {
          channel ??= await source.channel();
          if (channel) messages = (await within(channel.checkQueue(q.deadLetter), this.answerTimeoutMs)).messageCount;
        } catch (err) {
          silent = err instanceof NoAnswer;
          if (channel) source.discard(channel, silent);
          channel = undefined;
          this.onError(err, source.broker);
        }
      }
      out.push(depth(q, messages));
    }
    return { answered: true, depths: out };
  }

  /** Closes every source's channel (and a connection of its own), before the service's connection closes. */
  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close().catch(() => undefined)));
  }
}

class NoAnswer extends Error {}

/** The promise's value, or NoAnswer after `ms` (a half-open connection answers nothing until its heartbeat gives up). */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoAnswer(`the broker did not answer a passive declare within ${ms} ms`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A channel that may fail (a passive declare of a missing queue closes it) without crashing the process. */
async function readChannel(conn: ChannelModel, onClose: (ch: Channel) => void): Promise<Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  ch.on('close', () => onClose(ch));
  return ch;
}

/** The service's own broker, on the service's connection: its side's queues (every queue on one broker). */
export function ownBroker(amqp: AmqpClient, broker: DeadLetterBroker): DeadLetterSource {
  let channel: Channel | undefined;
  return {
    broker,
    queues: amqp.topology.queues(),
    async channel() {
      const conn = amqp.connection;
      if (!conn || !amqp.isConnected()) return undefined;
      channel ??= await readChannel(conn, (ch) => {
        if (channel === ch) channel = undefined;
      });
      return channel;
    },
    discard(ch) {
      if (channel === ch) channel = undefined;
    },
    async close() {
      const ch = channel;
      channel = undefined;
      await ch?.close().catch(() => undefined);
    },
  };
}

export interface OtherBrokerOptions {
  broker: 'site' | 'datacentre';
  /** Comma-separated URLs of the broker's nodes (tried in turn). A secret: never logged, never in an error. */
  urls: string;
  /** The dead-letter queues that live there (the contract's topology for that side). */
  queues: readonly DeclaredQueue[];
  /** Connecting (TCP and AMQP handshake) may take this long before the broker counts as unreachable. */
  connectTimeoutMs?: number;
  heartbeatSeconds?: number;
}

/**
 * The other side's broker (two brokers, decision 0028), on a read-only connection of its own: it only
 * passively declares, never declares, binds, publishes or consumes. Connected on the first read; a lost
 * connection is replaced at the next read (reads come at most once per cache period), so an unreachable
 * broker costs one connect attempt per period, not a loop.
 */
export function otherBroker(o: OtherBrokerOptions): DeadLetterSource {
  const urls = amqpUrls(o.urls);
  let conn: ChannelModel | undefined;
  let channel: Channel | undefined;
  let connecting: Promise<ChannelModel> | undefined;
  let next = 0;
  let closed = false;

  const connect = async (): Promise<ChannelModel> => {
    let last: unknown;
    for (let i = 0; i < urls.length; i++) {
      const url = withHeartbeat(urls[(next + i) % urls.length]!, o.heartbeatSeconds ?? 10);
      try {
        const c = await amqplib.connect(url, { timeout: o.connectTimeoutMs ?? 3_000, clientProperties: { connection_name: `transfer-log dead-letter reader (${o.broker})` } });
        next = (next + i) % urls.length;
        return c;
      } catch (err) {
        last = err;
      }
    }
    // amqplib's messages name host and port at most; the URL (with its credentials) is never repeated.
    throw new Error(`the ${o.broker} broker is unreachable: ${(last as Error)?.message ?? 'no URL'}`);
  };

  return {
    broker: o.broker,
    queues: o.queues,
    async channel() {
      if (closed) return undefined;
      if (!conn) {
        connecting ??= connect().finally(() => {
          connecting = undefined;
        });
        const c = await connecting;
        if (closed) {
          await c.close().catch(() => undefined);
          return undefined;
        }
        c.on('error', () => undefined);
        c.on('close', () => {
          if (conn === c) {
            conn = undefined;
            channel = undefined;
            // After a lost connection, the next node first.
            next = (next + 1) % urls.length;
          }
        });
        conn = c;
      }
      channel ??= await readChannel(conn, (ch) => {
        if (channel === ch) channel = undefined;
      });
      return channel;
    },
    discard(ch, broken) {
      if (channel === ch) channel = undefined;
      if (broken && conn) {
        // Not waited for: a connection that stopped answering must not hold the next read.
        void conn.close().catch(() => undefined);
        conn = undefined;
      }
    },
    async close() {
      closed = true;
      const c = conn;
      conn = undefined;
      channel = undefined;
      await c?.close().catch(() => undefined);
    },
  };
}
