import { topology } from '@terra-transfer/contracts';
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

/** The topology's dead-letter queues for the configured sites (packages/contracts: the one place queue names are decided). */
export function deadLetterQueues(ctx: Context): DeadLetterQueue[] {
  const t = topology(ctx.cfg.AMQP_PREFIX, ctx.sites.names());
  return t.queues().filter((q) => !q.tap).map((q) => ({ name: q.deadLetter, source: q.key === 'tailerRejects' ? null : q.name, site: q.site ?? null }));
}

/** The named dead-letter queue, or a one-line error when the name is not one. */
export function deadLetterQueue(ctx: Context, name: string): DeadLetterQueue {
  const all = deadLetterQueues(ctx);
  const found = all.find((q) => q.name === name);
  if (found) return found;
  const known = all.find((q) => q.name === `${name}.dlq` || q.source === name);
  throw notFound(`${name} is not a dead-letter queue${known ? ` (its dead-letter queue is ${known.name})` : ''}: \`terra dlq list\` names them`, 'NOT_A_DLQ');
}
