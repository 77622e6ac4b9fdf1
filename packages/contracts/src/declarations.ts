/**
 * What a broker holds for the topology: exchanges, queues with their arguments, bindings. The one
 * description both the services' declaration (packages/platform's AMQP client) and the RabbitMQ
 * definitions file (deploy/rabbitmq/definitions.json, `make definitions`) are made from, so the two
 * cannot drift: a queue whose arguments differ from what a service declares makes that service's
 * declaration fail with PRECONDITION_FAILED.
 */
import { topology, type BrokerSide, type Topology } from './topology.js';

export interface DeclarationOptions {
  /** x-delivery-limit of the consumer queues (AMQP_DELIVERY_LIMIT; the services' default is 10). */
  deliveryLimit: number;
  /** x-max-length of the tap queues (oldest dropped). */
  tapMaxLength: number;
}

export const DEFAULT_DECLARATION_OPTIONS: DeclarationOptions = { deliveryLimit: 10, tapMaxLength: 200_000 };

export interface QueueDeclaration {
  name: string;
  arguments: Record<string, string | number>;
}

export interface Declarations {
  /** Topic exchanges, durable. */
  exchanges: string[];
  /** Durable quorum queues, in declaration order (a dead-letter queue before the queue that feeds it). */
  queues: QueueDeclaration[];
  bindings: Array<{ exchange: string; queue: string; routingKey: string }>;
}

/**
 * Quorum queues with an explicit delivery limit (RabbitMQ 3.10 has none by default) and
 * at-least-once dead-lettering to a per-queue dead-letter queue; taps bounded, not dead-lettered.
 */
export function declarations(t: Topology, o: DeclarationOptions = DEFAULT_DECLARATION_OPTIONS): Declarations {
  const out: Declarations = { exchanges: [t.eventsExchange, t.deadLetterExchange], queues: [], bindings: [] };
  for (const q of t.queues()) {
    if (q.tap) {
      out.queues.push({ name: q.name, arguments: { 'x-queue-type': 'quorum', 'x-max-length': o.tapMaxLength, 'x-overflow': 'drop-head' } });
    } else {
      out.queues.push({ name: q.deadLetter, arguments: { 'x-queue-type': 'quorum' } });
      out.bindings.push({ exchange: t.deadLetterExchange, queue: q.deadLetter, routingKey: q.name });
      out.queues.push({
        name: q.name,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': o.deliveryLimit,
          'x-dead-letter-exchange': t.deadLetterExchange,
          'x-dead-letter-routing-key': q.name,
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      });
    }
    for (const key of q.bindings) out.bindings.push({ exchange: t.eventsExchange, queue: q.name, routingKey: key });
    // Two brokers: what the other side's shovel brings reaches this side's queues by the same keys.
    if (t.link) for (const key of q.bindings) out.bindings.push({ exchange: t.link.inboundExchange, queue: q.name, routingKey: key });
  }
  if (t.link) {
    out.exchanges.push(t.link.inboundExchange);
    // The outbox buffers while the link is down: no length limit (the broker's disk alarm is the bound), no delivery limit.
    out.queues.push({ name: t.link.outbox.name, arguments: { 'x-queue-type': 'quorum' } });
    for (const key of t.link.outbox.bindings) out.bindings.push({ exchange: t.eventsExchange, queue: t.link.outbox.name, routingKey: key });
  }
  return out;
}

/**
 * The dynamic shovel that empties this side's outbox into the other broker's inbound exchange
 * (`rabbitmqctl set_parameter shovel <name> '<value as JSON>'` on this side's broker, or the
 * management API's /api/parameters/shovel/<vhost>/<name>). ack-mode on-confirm: a message leaves
 * the outbox only once the other broker confirmed it, so a cut link loses nothing; the routing key
 * is kept. `remoteUri` (the other broker, with its vhost) carries credentials: the value is a
 * secret as a whole. `vhost`: this side's vhost (default: the node's default vhost).
 */
export function shovelParameter(t: Topology, o: { remoteUri: string; vhost?: string; reconnectDelaySeconds?: number }): { name: string; value: Record<string, string | number | boolean> } {
  if (!t.link) throw new Error('a shovel links two brokers: build the topology with a side (site or datacentre)');
  return {
    name: t.link.shovelName,
    value: {
      'src-protocol': 'amqp091',
      // amqp:// with no host: the local node (this vhost), with no credentials to keep.
      'src-uri': o.vhost === undefined ? 'amqp://' : `amqp:///${encodeURIComponent(o.vhost)}`,
      'src-queue': t.link.outbox.name,
      'dest-protocol': 'amqp091',
      'dest-uri': o.remoteUri,
      'dest-exchange': t.link.inboundExchange,
      'ack-mode': 'on-confirm',
      'src-delete-after': 'never',
      'reconnect-delay': o.reconnectDelaySeconds ?? 5,
    },
  };
}

/** The declarations as a RabbitMQ definitions document (rabbitmqctl import_definitions, load_definitions) for one vhost. */
export function rabbitmqDefinitions(t: Topology, vhost: string, o: DeclarationOptions = DEFAULT_DECLARATION_OPTIONS): Record<string, unknown> {
  const d = declarations(t, o);
  return {
    vhosts: [{ name: vhost }],
    exchanges: d.exchanges.map((name) => ({ name, vhost, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} })),
    queues: d.queues.map((q) => ({ name: q.name, vhost, durable: true, auto_delete: false, arguments: q.arguments })),
    bindings: d.bindings.map((b) => ({ source: b.exchange, vhost, destination: b.queue, destination_type: 'queue', routing_key: b.routingKey, arguments: {} })),
  };
}

/** deploy/rabbitmq/definitions.json as `make definitions` writes it. */
export function renderDefinitions(o: { vhost: string; prefix: string; sites: readonly string[]; side?: BrokerSide }): string {
  return `${JSON.stringify(rabbitmqDefinitions(topology(o.prefix, o.sites, o.side), o.vhost), null, 2)}\n`;
}
