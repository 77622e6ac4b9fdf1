import { QUEUES, topology } from '@terra-transfer/contracts';
import type { Context } from './context.js';
import { notFound } from './errors.js';

export interface QueueInfo {
  name: string;
  messages: number;
  ready: number;
  unacked: number;
  consumers: number;
}

export interface DeadLetterQueue {
  /** The dead-letter queue's name. */
  name: string;
  /** The queue its messages came from (where a redrive returns them); null for the log-tailer's rejects, which have none. */
  source: string | null;
  site: string | null;
  /** The broker holding it: `both` (one broker holds every queue, AMQP_SIDE=both), else the side the contract puts it on. */
  broker: 'both' | 'site' | 'datacentre';
  /** On the broker AMQP_URL and RABBITMQ_MANAGEMENT_URL reach (else only the transfer log reads its depth). */
  here: boolean;
}

/** RabbitMQ's management API, with the credentials and vhost of AMQP_URL. */
export class Management {
  private readonly base: URL;
  private readonly auth: string;
  readonly vhost: string;

  constructor(private readonly ctx: Context) {
    const amqp = new URL(ctx.cfg.AMQP_URL);
    this.base = new URL(ctx.cfg.RABBITMQ_MANAGEMENT_URL);
    this.auth = `Basic ${Buffer.from(`${decodeURIComponent(amqp.username || 'guest')}:${decodeURIComponent(amqp.password || 'guest')}`).toString('base64')}`;
    this.vhost = amqp.pathname.length > 1 ? decodeURIComponent(amqp.pathname.slice(1)) : '/';
  }

  private async call<T>(path: string, c: { method?: 'GET' | 'POST' | 'DELETE'; body?: unknown; accept?: number[] } = {}) {
    return this.ctx.fetchJson<T>('RabbitMQ management API', new URL(`/api/${path}`, this.base), c, { authorization: this.auth });
  }

  private q(name: string): string {
    return `queues/${encodeURIComponent(this.vhost)}/${encodeURIComponent(name)}`;
  }

  /** Every queue of the prefix. */
  async queues(prefix: string): Promise<QueueInfo[]> {
    const r = await this.call<Array<{ name: string; messages?: number; messages_ready?: number; messages_unacknowledged?: number; consumers?: number }>>(
      `queues/${encodeURIComponent(this.vhost)}?columns=name,messages,messages_ready,messages_unacknowledged,consumers`,
    );
    return r.body.filter((q) => q.name.startsWith(`${prefix}.`)).map((q) => ({
      name: q.name, messages: q.messages ?? 0, ready: q.messages_ready ?? 0, unacked: q.messages_unacknowledged ?? 0, consumers: q.consumers ?? 0,
    }));
  }

  /** Messages of a queue, requeued (a peek: each counts as a delivery). */
  async peek(name: string, count: number): Promise<Array<{ payload: string; payload_encoding: string; redelivered: boolean; properties: { headers?: Record<string, unknown>; message_id?: string; timestamp?: number; type?: string } }>> {
    const r = await this.call<never>(`${this.q(name)}/get`, { method: 'POST', body: { count, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 20_000 } });
    return r.body;
  }

  async purge(name: string): Promise<void> {
    await this.call(`${this.q(name)}/contents`, { method: 'DELETE' });
  }

  async exists(name: string): Promise<QueueInfo | null> {
    const r = await this.call<{ name: string; messages?: number; messages_ready?: number; messages_unacknowledged?: number; consumers?: number }>(this.q(name), { accept: [404] });
    if (r.status === 404) return null;
    return { name, messages: r.body.messages ?? 0, ready: r.body.messages_ready ?? 0, unacked: r.body.messages_unacknowledged ?? 0, consumers: r.body.consumers ?? 0 };
  }
}

/**
 * The topology's dead-letter queues for the configured sites (packages/contracts: the one place queue names are
 * decided), each with the broker that holds it: with two brokers (AMQP_SIDE site or datacentre), both sides'.
 */
export function deadLetterQueues(ctx: Context): DeadLetterQueue[] {
  const side = ctx.cfg.AMQP_SIDE;
  const t = topology(ctx.cfg.AMQP_PREFIX, ctx.sites.names());
  return t.queues().filter((q) => !q.tap).map((q) => ({
    name: q.deadLetter, source: q.key === 'tailerRejects' ? null : q.name, site: q.site ?? null,
    broker: side === 'both' ? 'both' : QUEUES[q.key].side, here: side === 'both' || QUEUES[q.key].side === side,
  }));
}

/**
 * Depths of the dead-letter queues this CLI's broker does not hold, as the transfer log's status read them
 * (its own broker, and the site's with SITE_AMQP_URL): the CLI needs no credentials for the other broker.
 * Empty with one broker; a depth is null when the transfer log could not read it.
 */
export async function otherBrokerDepths(ctx: Context, queues: readonly DeadLetterQueue[]): Promise<Map<string, number | null> | { error: string }> {
  if (queues.every((q) => q.here)) return new Map();
  try {
    const r = await ctx.call<{ deadLetters: Array<{ queue: string; messages: number | null }> | null }>('transfer-log', '/api/v1/status');
    return new Map((r.body.deadLetters ?? []).map((d) => [d.queue, d.messages]));
  } catch (err) {
    return { error: `the other broker's dead letters are read through the transfer log: ${(err as Error).message}` };
  }
}

/** The named dead-letter queue on this CLI's broker, or a one-line error when the name is not one or it lives on the other broker. */
export function deadLetterQueue(ctx: Context, name: string): DeadLetterQueue {
  const all = deadLetterQueues(ctx);
  const found = all.find((q) => q.name === name);
  if (found && !found.here) {
    throw notFound(`${name} lives on the ${found.broker} broker, not on this ${ctx.cfg.AMQP_SIDE} one: run terra there (that broker's AMQP_URL and RABBITMQ_MANAGEMENT_URL, AMQP_SIDE=${found.broker})`, 'OTHER_BROKER');
  }
  if (found) return found;
  const known = all.find((q) => q.name === `${name}.dlq` || q.source === name);
  throw notFound(`${name} is not a dead-letter queue${known ? ` (its dead-letter queue is ${known.name})` : ''}: \`terra dlq list\` names them`, 'NOT_A_DLQ');
}
