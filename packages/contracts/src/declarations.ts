/**
 * What a broker holds for the topology: exchanges, queues with their arguments, bindings. The one
 * description both the services' declaration (packages/platform's AMQP client) and the RabbitMQ
 * definitions file (deploy/rabbitmq/definitions.json, `make definitions`) are made from, so the two
 * cannot drift: a queue whose arguments differ from what a service declares makes that service's
 * declaration fail with PRECONDITION_FAILED.
 */
import { topology, type Topology } from './topology.js';

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
  }
  return out;
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
export function renderDefinitions(o: { vhost: string; prefix: string; sites: readonly string[] }): string {
  return `${JSON.stringify(rabbitmqDefinitions(topology(o.prefix, o.sites), o.vhost), null, 2)}\n`;
}
