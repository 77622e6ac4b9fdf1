import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { ContractError, decode, type Message, type MessageType } from '@terra-transfer/contracts';
import { classify } from '../errors.js';
import type { ErrorCode } from '../error-codes.js';
import type { AmqpClient } from './client.js';
import { DEAD_LETTER_HEADERS } from './headers.js';
import { backoffDelay } from '../backoff.js';
import { sleep } from '../sleep.js';
import { TRACEPARENT_HEADER, newTrace, parseTraceparent, runInTrace, type TraceScope } from '../trace.js';
import { DEFAULT_PROBE_BACKOFF, waitUntilAvailable, type ProbeBackoff } from './upstream.js';

/** Headers the broker adds to a delivery; a message given back is published without them, as it was first published. */
const BROKER_HEADERS = ['x-delivery-count', 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason'];

export interface DeliveryContext<T extends MessageType = MessageType> {
  /** Deliveries so far, including this one (quorum queues count them in x-delivery-count). */
  deliveryCount: number;
  redelivered: boolean;
  /** Aborted when the consumer stops: a handler that waits (for a batch to fill, say) should stop waiting; work in progress should finish. */
  signal: AbortSignal;
  /**
   * Whether the queue's delivery limit may dead-letter this message should it
   * fail again (deliveryCount ≥ x-delivery-limit: counted conservatively, since
   * RabbitMQ 3.10 allows one delivery more). A handler of a chunk gives up its
   * still-failing items one by one here (deadLetterPart) rather than let the
   * broker dead-letter their chunk-mates with them.
   */
  lastDelivery: boolean;
  /**
   * Dead-letters one part of this delivery on its own: `part` (an event the
   * handler built, e.g. a chunk of the one file that failed) goes to the
   * dead-letter exchange as this queue's dead letter, with the reason in the
   * headers, confirmed; the delivery itself is still settled by the handler's
   * outcome. Replaying it (back into the queue) handles that part alone.
   */
  deadLetterPart(part: Message<T>, code: ErrorCode, detail: string): Promise<void>;
}

export type Handler<T extends MessageType> = (event: Message<T>, ctx: DeliveryContext<T>) => Promise<void>;

/** A delivery as the broker handed it, not decoded: for a consumer that records whatever comes (the transfer log). */
export interface RawDelivery {
  body: Buffer;
  routingKey: string;
  messageId: string | undefined;
  /** The publisher's timestamp property (unix seconds), if any. */
  timestamp: number | undefined;
}

export type RawHandler = (delivery: RawDelivery, ctx: DeliveryContext<MessageType>) => Promise<void>;

export interface ConsumerOptions {
  /** Unacked deliveries the broker hands this consumer at once. */
  prefetch?: number;
  /** Backoff before a transiently failed delivery is requeued: base * 2^(deliveries-1), capped. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * Asks an upstream a handler reported unavailable (it threw an
   * UpstreamUnavailableError naming it) whether it answers again. With a
   * probe, an outage holds the consumer's deliveries (no handler runs) and
   * gives back uncounted those still waiting after outageHoldMs, until the
   * probe passes; without one, such errors are requeued like any
   * transient error (each requeue counts toward the delivery limit).
   */
  probe?: (upstream: string, signal: AbortSignal) => Promise<void>;
  /** Waits between probes (default 1 s doubling to 30 s). */
  probeBackoff?: ProbeBackoff;
  /**
   * How long a delivery waits, unacked, for an upstream outage to end before
   * it is given back (default 20 s). Keep it well under the broker's
   * consumer_timeout, which closes the channel (and counts a delivery) past it.
   */
  outageHoldMs?: number;
  /**
   * Acks of one turn of the event loop go out as one `multiple` ack when they are the channel's oldest
   * unsettled deliveries (a batch consumer settles hundreds at once after its commit); any other ack
   * goes out on its own, in the same turn. A delivery is still acked only after its handler resolved,
   * and nacks are never grouped. Default off.
   */
  groupAcks?: boolean;
  /** @internal Set by AmqpClient.consumeRaw: the handler gets the undecoded delivery and nothing is dead-lettered as malformed. */
  raw?: boolean;
}

/**
 * A consumer that acks only after its handler resolved (the effect is
 * durable), dead-letters malformed messages and permanent failures with the
 * reason in headers, and requeues transient failures after a backoff; the
 * queue's delivery limit dead-letters a message that never succeeds.
 *
 * An upstream outage is not a failure of the message: when a handler throws
 * UpstreamUnavailableError (and a probe is given), the consumer stops running
 * its handler: deliveries wait (at most prefetch of them, each at most
 * outageHoldMs) and are then given back without spending an attempt, while
 * the upstream is probed with a backoff; when it answers, the waiting
 * deliveries go on to the handler (see holdForOutage).
 */
export class Consumer<T extends MessageType> {
  private channel: Channel | undefined;
  private tag: string | undefined;
  private inflight = 0;
  private idle: Array<() => void> = [];
  private stopping = false;
  private paused = false;
  /** The upstream a handler found unavailable: deliveries are held off (given back) until a probe passes. */
  private outage: string | undefined;
  /** Deliveries waiting for the outage to end (each resolves true when the upstream answered). */
  private readonly outageWaiters: Array<(up: boolean) => void> = [];
  private readonly outageHoldMs: number;
  private stopped: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly prefetch: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly types: readonly T[];
  private readonly probe: ConsumerOptions['probe'];
  private readonly probeBackoff: ProbeBackoff;
  private readonly raw: boolean;
  private readonly groupAcks: boolean;
  /** With groupAcks: the channel's deliveries not yet settled (in delivery order) and the acks waiting for the end of the turn. */
  private acks: PendingAcks | undefined;

  constructor(
    private readonly client: AmqpClient,
    readonly queue: string,
    types: T | readonly T[],
    private readonly handler: Handler<T> | RawHandler,
    opts: ConsumerOptions,
  ) {
    this.types = Array.isArray(types) ? types : [types as T];
    this.prefetch = opts.prefetch ?? 50;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.probe = opts.probe;
    this.probeBackoff = opts.probeBackoff ?? DEFAULT_PROBE_BACKOFF;
    this.outageHoldMs = opts.outageHoldMs ?? 20_000;
    this.raw = opts.raw ?? false;
    this.groupAcks = opts.groupAcks ?? false;
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** @internal Opens this consumer's channel on a fresh connection. */
  async attach(conn: ChannelModel): Promise<void> {
    if (this.stopping) return;
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        if (this.channel !== ch) return;
        this.channel = undefined;
        this.tag = undefined;
        // The broker closed this channel alone (consumer_timeout, a precondition error) while the
        // connection lives on: open a new one. A lost connection is handled by the reconnect loop.
        if (!this.stopping && this.client.connection === conn) {
          this.client.telemetry.channelReopened(this.queue);
          setTimeout(() => {
            if (!this.stopping && this.client.connection === conn && !this.channel) void this.attach(conn);
          }, 200);
        }
      });
      await ch.prefetch(this.prefetch);
      this.channel = ch;
      if (!this.paused && !this.stopping) await this.startConsuming(ch);
    } catch (err) {
      // The connection died while we attached; the reconnect loop calls attach again.
      this.client.logger.warn({ queue: this.queue, err }, 'could not open consumer channel');
    }
  }

  /** @internal The connection is gone; unacked deliveries return to the queue. */
  detach(): void {
    this.channel = undefined;
    this.tag = undefined;
  }

  /** Stops taking new deliveries (backpressure); in-flight ones continue. */
  async pause(): Promise<void> {
    if (this.paused) return;
    this.paused = true;
    const { channel, tag } = this;
    this.tag = undefined;
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
  }

  async resume(): Promise<void> {
    if (!this.paused) return;
    this.paused = false;
    if (this.channel && !this.tag && !this.stopping) await this.startConsuming(this.channel).catch(() => undefined);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The upstream this consumer is waiting for (not ready), or undefined. */
  get unavailable(): string | undefined {
    return this.outage;
  }

  /** Cancels the subscription, waits up to `drainTimeoutMs` for in-flight handlers, then closes the channel. Idempotent. */
  stop(drainTimeoutMs = 10_000): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      const { channel, tag } = this;
      if (channel && tag) await channel.cancel(tag).catch(() => undefined);
      this.tag = undefined;
      // Handlers waiting on something (a retry backoff, a batch to fill) cut short; work in progress finishes.
      this.abort.abort();
      if (this.inflight > 0) {
        const drained = new Promise<void>((resolve) => this.idle.push(resolve));
        await Promise.race([drained, sleep(drainTimeoutMs)]);
      }
      const abandoned = this.inflight;
      const ch = this.channel;
      this.sendAcks();
      this.channel = undefined;
      if (ch) await ch.close().catch(() => undefined);
      this.client.telemetry.consumerStopped(this.queue, abandoned);
      this.client.forget(this as unknown as Consumer<MessageType>);
    })();
    return this.stopped;
  }

  private async startConsuming(ch: Channel): Promise<void> {
    const { consumerTag } = await ch.consume(this.queue, (msg) => {
      if (msg === null) {
        // Cancelled by the broker (queue deleted): the channel closes with the next reconnect.
        this.client.logger.error({ queue: this.queue }, 'broker cancelled the consumer');
        return;
      }
      void this.onMessage(ch, msg);
    }, { noAck: false });
    // Deliveries can arrive before consume-ok: one of them may have paused the consumer
    // while no tag was known to cancel. Cancel now instead of consuming on.
    if (this.paused || this.stopping) {
      await ch.cancel(consumerTag).catch(() => undefined);
      return;
    }
    this.tag = consumerTag;
    this.client.telemetry.consumerStarted(this.queue, this.prefetch);
  }

  private async onMessage(ch: Channel, msg: ConsumeMessage): Promise<void> {
    this.inflight++;
    if (this.groupAcks) {
      if (this.acks?.ch !== ch) {
        // A new channel: acks still waiting for the old one's turn to end cannot reach the broker (it redelivers those).
        for (const messageId of this.acks?.ready.values() ?? []) this.client.telemetry.ackLost(this.queue, messageId);
        this.acks = { ch, unsettled: new Set(), ready: new Map(), scheduled: false };
      }
      this.acks.unsettled.add(msg.fields.deliveryTag);
    }
    const messageId = msg.properties.messageId as string | undefined;
    const deliveryCount = Number(msg.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    try {
      // During an outage a delivery waits (unacked, bounded by outageHoldMs) for the upstream;
      // if it is still down by then, the delivery is given back uncounted and comes round again.
      if (this.outage) {
        const upstream = this.outage;
        if (!(await this.outageOver())) {
          await this.giveBack(ch, msg, upstream, deliveryCount);
          return;
        }
      }
      let event: Message<T> | RawDelivery;
      if (this.raw) {
        const ts = msg.properties.timestamp as unknown;
        event = { body: msg.content, routingKey: msg.fields.routingKey, messageId, timestamp: typeof ts === 'number' ? ts : undefined };
      } else {
        try {
          event = decode(this.types, msg.content);
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          await this.deadLetter(ch, msg, err.code, err.detail, true);
          return;
        }
      }
      const started = process.hrtime.bigint();
      try {
        // The handler runs in the delivery's trace (a new one when the publisher sent none): what it publishes and logs carries it.
        const scope: TraceScope = { trace: parseTraceparent(msg.properties.headers?.[TRACEPARENT_HEADER]) ?? newTrace() };
        const uploadId = this.raw ? undefined : (event as Message<T>).data as { uploadId?: unknown } | undefined;
        if (typeof uploadId?.uploadId === 'string') scope.uploadId = uploadId.uploadId;
        const ctx: DeliveryContext<T> = {
          deliveryCount,
          redelivered: msg.fields.redelivered,
          signal: this.abort.signal,
          lastDelivery: deliveryCount >= this.client.deliveryLimit,
          deadLetterPart: (part, code, detail) => this.deadLetterPart(msg, part, code, detail),
        };
        await runInTrace(scope, () => (this.handler as (e: Message<T> | RawDelivery, ctx: DeliveryContext<T>) => Promise<void>)(event, ctx));
      } catch (err) {
        const c = classify(err);
        if (c.unavailable && this.probe && !this.stopping) {
          this.holdForOutage(c.unavailable, c);
          await this.giveBack(ch, msg, c.unavailable, deliveryCount);
        } else if (!c.retryable) {
          await this.deadLetter(ch, msg, c.code, c.message, false);
        } else {
          const delay = backoffDelay(deliveryCount - 1, { baseMs: this.retryBaseMs, maxMs: this.retryMaxMs });
          await sleep(delay, this.abort.signal);
          this.client.telemetry.requeued(this.queue, messageId, deliveryCount, c.code, c.message);
          this.settle(ch, msg, 'nack');
        }
        return;
      }
      this.settle(ch, msg, 'ack');
      this.client.telemetry.handled(this.queue, Number(process.hrtime.bigint() - started) / 1e9);
    } catch (err) {
      // Dead-lettering itself failed (broker down): requeue, it will come back.
      this.client.telemetry.requeued(this.queue, messageId, deliveryCount, 'DEAD_LETTER_FAILED', String(err));
      this.settle(ch, msg, 'nack');
    } finally {
      this.inflight--;
      if (this.inflight === 0) for (const r of this.idle.splice(0)) r();
    }
  }

  /**
   * An upstream is down: hold the deliveries (new ones wait in onMessage, at
   * most `prefetch` of them, each at most outageHoldMs, then given back), probe
   * the upstream with a backoff, and release the waiting deliveries when it
   * answers. The subscription is deliberately kept: cancelling it makes the
   * broker return the deliveries already on their way to this consumer, and a
   * quorum queue counts each such return toward x-delivery-limit. Idempotent
   * while the outage lasts; logged and counted once per outage, not per
   * delivery or probe.
   */
  private holdForOutage(upstream: string, cause: { code: ErrorCode; message: string }): void {
    if (this.outage) return;
    this.outage = upstream;
    const probe = this.probe!;
    const telemetry = this.client.telemetry;
    void waitUntilAvailable((signal) => probe(upstream, signal), this.probeBackoff, this.abort.signal, {
      down: (e) => telemetry.upstreamDown(upstream, e.code, e.message, this.queue),
      up: (ms, probes) => telemetry.upstreamUp(upstream, ms, probes, this.queue),
    }, { alreadyDown: cause, permanentIsDown: true }).then((answered) => {
      if (answered) this.outage = undefined;
      for (const release of this.outageWaiters.splice(0)) release(answered && !this.stopping);
    });
  }

  /** Resolves true when the outage ended within outageHoldMs, false when it did not (or the consumer stops). */
  private outageOver(): Promise<boolean> {
    if (!this.outage) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const done = (up: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onAbort);
        const i = this.outageWaiters.indexOf(done);
        if (i >= 0) this.outageWaiters.splice(i, 1);
        resolve(up);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), this.outageHoldMs);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      this.outageWaiters.push(done);
    });
  }

  /**
   * Returns a delivery to its queue without spending an attempt: a quorum
   * queue counts every requeue (nack, or a channel closed with it unacked)
   * toward x-delivery-limit on RabbitMQ < 4.3, so the message is published
   * again unchanged (body, id, properties; headers without the broker's own)
   * to its queue through the default exchange and, once that is confirmed,
   * the original is acked. A crash in between leaves both: a duplicate
   * delivery, which idempotent handlers absorb, never a loss.
   */
  private async giveBack(ch: Channel, msg: ConsumeMessage, upstream: string, deliveryCount: number): Promise<void> {
    const messageId = msg.properties.messageId as string | undefined;
    const headers: Record<string, unknown> = { ...msg.properties.headers };
    for (const h of BROKER_HEADERS) delete headers[h];
    try {
      await this.client.publishRaw('', this.queue, msg.content, { ...msg.properties, headers });
    } catch (err) {
      // The broker did not take the copy (it is down, or the queue is full): requeue, which counts, but loses nothing.
      this.client.telemetry.requeued(this.queue, messageId, deliveryCount, 'GIVE_BACK_FAILED', String(err));
      this.settle(ch, msg, 'nack');
      return;
    }
    this.settle(ch, msg, 'ack');
    this.client.telemetry.givenBack(this.queue, messageId, upstream);
  }

  /** Publishes the message to the dead-letter exchange with the reason (confirmed), then acks it. */
  private async deadLetter(ch: Channel, msg: ConsumeMessage, code: ErrorCode, detail: string, malformed: boolean): Promise<void> {
    await this.client.publishRaw(this.client.topology.deadLetterExchange, this.queue, msg.content, {
      ...msg.properties,
      headers: {
        ...msg.properties.headers,
        [DEAD_LETTER_HEADERS.code]: code,
        [DEAD_LETTER_HEADERS.detail]: detail.slice(0, 2000),
        [DEAD_LETTER_HEADERS.queue]: this.queue,
        [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
      },
    });
    this.client.telemetry.deadLettered(this.queue, msg.properties.messageId as string | undefined, code, detail, malformed);
    this.settle(ch, msg, 'ack');
  }

  /** One part of a delivery, dead-lettered on its own (DeliveryContext.deadLetterPart). */
  private async deadLetterPart(msg: ConsumeMessage, part: Message<T>, code: ErrorCode, detail: string): Promise<void> {
    const headers: Record<string, unknown> = { ...msg.properties.headers };
    for (const h of BROKER_HEADERS) delete headers[h];
    await this.client.publishRaw(this.client.topology.deadLetterExchange, this.queue, Buffer.from(JSON.stringify(part)), {
      messageId: part.id,
      type: part.type,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(part.time) / 1000),
      headers: {
        ...headers,
        [DEAD_LETTER_HEADERS.code]: code,
        [DEAD_LETTER_HEADERS.detail]: detail.slice(0, 2000),
        [DEAD_LETTER_HEADERS.queue]: this.queue,
        [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
        [DEAD_LETTER_HEADERS.partOf]: String(msg.properties.messageId ?? ''),
      },
    });
    this.client.telemetry.deadLettered(this.queue, part.id, code, detail, false);
  }

  private settle(ch: Channel, msg: ConsumeMessage, how: 'ack' | 'nack'): void {
    const acks = this.acks;
    if (acks?.ch === ch) {
      if (how === 'ack' && this.channel === ch) {
        acks.ready.set(msg.fields.deliveryTag, msg.properties.messageId as string | undefined);
        if (!acks.scheduled) {
          acks.scheduled = true;
          setImmediate(() => this.sendAcks());
        }
        return;
      }
      acks.unsettled.delete(msg.fields.deliveryTag);
    }
    if (this.channel !== ch) {
      this.client.telemetry.ackLost(this.queue, msg.properties.messageId as string | undefined);
      return;
    }
    try {
      if (how === 'ack') ch.ack(msg);
      else ch.nack(msg, false, true);
    } catch {
      this.client.telemetry.ackLost(this.queue, msg.properties.messageId as string | undefined);
    }
  }

  /**
   * groupAcks: sends the turn's acks. The oldest unsettled deliveries, when acked, go as one ack with
   * `multiple` (it covers exactly them: every older tag of the channel is settled); acks behind a
   * delivery still in its handler go one by one, so a slow delivery never holds the others' acks.
   */
  private sendAcks(): void {
    const acks = this.acks;
    if (!acks) return;
    acks.scheduled = false;
    if (acks.ready.size === 0) return;
    const { ch, unsettled, ready } = acks;
    const lost = (messageId: string | undefined) => this.client.telemetry.ackLost(this.queue, messageId);
    if (this.channel !== ch) {
      for (const messageId of ready.values()) lost(messageId);
      ready.clear();
      return;
    }
    let upTo: number | undefined;
    const covered: Array<string | undefined> = [];
    for (const tag of unsettled) {
      if (!ready.has(tag)) break;
      covered.push(ready.get(tag));
      ready.delete(tag);
      unsettled.delete(tag);
      upTo = tag;
    }
    try {
      if (upTo !== undefined) ch.ack(deliveryTagged(upTo), true);
    } catch {
      for (const messageId of covered) lost(messageId);
    }
    for (const [tag, messageId] of ready) {
      unsettled.delete(tag);
      try {
        ch.ack(deliveryTagged(tag));
      } catch {
        lost(messageId);
      }
    }
    ready.clear();
  }
}

interface PendingAcks {
  ch: Channel;
  /** Delivery tags received on `ch` and not yet acked or nacked, oldest first (a Set keeps insertion order). */
  unsettled: Set<number>;
  /** Acks decided this turn: delivery tag to message id (for the ackLost telemetry). */
  ready: Map<number, string | undefined>;
  scheduled: boolean;
}

/** What amqplib's ack reads from a message: its delivery tag. */
function deliveryTagged(tag: number): ConsumeMessage {
  return { fields: { deliveryTag: tag } } as ConsumeMessage;
}
