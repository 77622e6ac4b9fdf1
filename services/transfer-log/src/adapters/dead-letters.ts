import type { AmqpClient } from '@terra-transfer/platform';

type Connection = NonNullable<AmqpClient['connection']>;
type Channel = Awaited<ReturnType<Connection['createChannel']>>;

export interface DeadLetterDepth {
  /** The consumer queue whose dead letters these are (topology key, e.g. `batcher`). */
  key: string;
  /** The site of a per-site queue (absent for a queue that serves every site). */
  site?: string;
  queue: string;
  /** Messages waiting in the dead-letter queue; null when the broker did not answer for it. */
  messages: number | null;
}

/**
 * Depths of the topology's dead-letter queues, read with AMQP `checkQueue` on
 * the service's own broker connection: no management API, no second set of
 * credentials. Every service declares the whole topology on connection, so
 * the queues exist; a `checkQueue` that fails (the broker closes the channel)
 * answers null for that queue and a new channel is opened next time. Answers
 * are cached for `ttlMs` so a wall of open status pages costs the broker one
 * round of passive declares per period.
 */
export class DeadLetterDepths {
  private channel: Channel | undefined;
  private cached: { at: number; value: DeadLetterDepth[] | null } | undefined;
  private pending: Promise<DeadLetterDepth[] | null> | undefined;

  constructor(private readonly amqp: AmqpClient, private readonly onError: (err: unknown) => void, private readonly ttlMs = 5_000) {}

  /** Null when the broker is unreachable. */
  depths(): Promise<DeadLetterDepth[] | null> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return Promise.resolve(this.cached.value);
    this.pending ??= this.read()
      .then((value) => {
        this.cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private async read(): Promise<DeadLetterDepth[] | null> {
    const conn = this.amqp.connection;
    if (!conn || !this.amqp.isConnected()) return null;
    const out: DeadLetterDepth[] = [];
    for (const q of this.amqp.topology.queues()) {
      if (q.tap) continue;
      let messages: number | null = null;
      try {
        this.channel ??= await this.open(conn);
        messages = (await this.channel.checkQueue(q.deadLetter)).messageCount;
      } catch (err) {
        this.channel = undefined;
        this.onError(err);
      }
      out.push({ key: q.key, ...(q.site !== undefined ? { site: q.site } : {}), queue: q.deadLetter, messages });
    }
    return out;
  }

  private async open(conn: Connection): Promise<Channel> {
    const ch = await conn.createChannel();
    // A failed passive declare closes the channel with an error; it is replaced, never left to crash the process.
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    return ch;
  }

  /** Closes the channel (before the connection closes). */
  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    await ch?.close().catch(() => undefined);
  }
}
