import type { Logger } from 'pino';
import { counter, gauge, histogram, tally, type Registry, type Tally } from '../metrics.js';
import type { ErrorCode } from '../error-codes.js';

/** Named AMQP occurrences: each one logs and updates its metric, nothing else does either. */
export function amqpTelemetry(logger: Logger, registry: Registry) {
  const connected = gauge(registry, 'terra_transfer_amqp_connected', '1 while the service holds a connection to the broker');
  const reconnects = counter(registry, 'terra_transfer_amqp_reconnects_total', 'Connections re-established after a loss');
  const published = counter(registry, 'terra_transfer_messages_published_total', 'Publishes by routing key and outcome (confirmed, nacked, unroutable, failed)', ['routing_key', 'outcome']);
  const consumed = counter(registry, 'terra_transfer_messages_consumed_total', 'Deliveries by queue and outcome (acked, requeued, dead_lettered, given_back: returned uncounted during an upstream outage)', ['queue', 'outcome']);
  const outages = counter(registry, 'terra_transfer_upstream_outages_total', 'Upstream outages seen (each: consuming held, deliveries given back, the upstream probed until it answers)', ['upstream']);
  const available = gauge(registry, 'terra_transfer_upstream_available', '0 while an upstream is seen down (not ready), 1 once it answers', ['upstream']);
  const rejected = counter(registry, 'terra_transfer_messages_rejected_total', 'Malformed messages dead-lettered, by queue and contract error code', ['queue', 'code']);
  const handlerSeconds = histogram(registry, 'terra_transfer_message_handler_duration_seconds', 'Time a handler took per delivery', ['queue']);
  const channelReopens = counter(registry, 'terra_transfer_amqp_channel_reopens_total', 'Consumer channels the broker closed while the connection lived, reopened', ['queue']);
  const log = logger.child({ component: 'amqp' });
  const publishedBy = new Map<string, Tally>();
  const ackedBy = new Map<string, Tally>();
  connected.set(0);

  return {
    connected(url: string, attempt: number) {
      connected.set(1);
      if (attempt > 0) reconnects.inc();
      log.info({ url, attempt }, 'broker connected');
    },
    connectFailed(err: unknown, attempt: number, retryInMs: number) {
      log.warn({ err, attempt, retryInMs }, 'broker connection failed; retrying');
    },
    disconnected(reason: string) {
      connected.set(0);
      log.warn({ reason }, 'broker connection lost');
    },
    blocked(reason: string) {
      log.warn({ reason }, 'broker blocked the connection (resource alarm); publishes wait');
    },
    published(routingKey: string, outcome: 'confirmed' | 'nacked' | 'unroutable' | 'failed') {
      // One tally per (key, outcome): this runs once per publish.
      const key = `${routingKey}\u0000${outcome}`;
      let t = publishedBy.get(key);
      if (!t) publishedBy.set(key, (t = tally(published, { routing_key: routingKey, outcome })));
      t.inc();
      if (outcome !== 'confirmed') log.warn({ routingKey, outcome }, 'publish not confirmed');
    },
    handled(queue: string, seconds: number) {
      handlerSeconds.observe({ queue }, seconds);
      let t = ackedBy.get(queue);
      if (!t) ackedBy.set(queue, (t = tally(consumed, { queue, outcome: 'acked' })));
      t.inc();
    },
    requeued(queue: string, messageId: string | undefined, deliveryCount: number, code: ErrorCode, err: string) {
      consumed.inc({ queue, outcome: 'requeued' });
      log.warn({ queue, messageId, deliveryCount, code, err }, 'handler failed (transient); message requeued');
    },
    deadLettered(queue: string, messageId: string | undefined, code: ErrorCode, detail: string, malformed: boolean) {
      consumed.inc({ queue, outcome: 'dead_lettered' });
      if (malformed) rejected.inc({ queue, code });
      log.error({ queue, messageId, code, detail }, malformed ? 'malformed message dead-lettered' : 'message dead-lettered (permanent error)');
    },
    /** An upstream answered at start: its series exist from then on (available 1, outages 0), so queries answer before any outage. */
    upstreamAnswering(upstream: string) {
      outages.inc({ upstream }, 0);
      available.set({ upstream }, 1);
    },
    /** Logged once per outage (not per delivery or probe). `queue` is absent when a service waits for it at start. */
    upstreamDown(upstream: string, code: ErrorCode, err: string, queue?: string) {
      outages.inc({ upstream });
      available.set({ upstream }, 0);
      log.warn({ upstream, code, err, queue }, 'upstream unavailable');
    },
    upstreamUp(upstream: string, downForMs: number, probes: number, queue?: string) {
      available.set({ upstream }, 1);
      log.info({ upstream, downForMs, probes, queue }, 'upstream available again');
    },
    givenBack(queue: string, messageId: string | undefined, upstream: string) {
      consumed.inc({ queue, outcome: 'given_back' });
      log.debug({ queue, messageId, upstream }, 'delivery given back uncounted (upstream unavailable)');
    },
    ackLost(queue: string, messageId: string | undefined) {
      log.warn({ queue, messageId }, 'channel closed before ack; the broker will redeliver');
    },
    channelReopened(queue: string) {
      channelReopens.inc({ queue });
      log.warn({ queue }, 'broker closed the consumer channel; reopening it (unacked deliveries are redelivered)');
    },
    consumerStarted(queue: string, prefetch: number) {
      log.info({ queue, prefetch }, 'consuming');
    },
    consumerStopped(queue: string, abandoned: number) {
      if (abandoned) log.warn({ queue, abandoned }, 'consumer stopped with work unfinished; the broker requeues it');
      else log.info({ queue }, 'consumer stopped, in-flight work drained');
    },
  };
}

export type AmqpTelemetry = ReturnType<typeof amqpTelemetry>;
