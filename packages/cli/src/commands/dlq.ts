import type { Command } from 'commander';
import amqp, { type GetMessage } from 'amqplib';
import { DEAD_LETTER_HEADERS } from '@terra-transfer/platform';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT, notFound, unreachable } from '../errors.js';
import { ago, table } from '../format.js';
import { deadLetterQueue, deadLetterQueues, Management, otherBrokerDepths } from '../rabbit.js';
import { positiveInt } from './file.js';

/** Headers a redrive adds (docs/cli.md): when, how many times, and by whom the message was sent back. */
const REDRIVE_HEADERS = { at: 'x-terra-redriven-at', count: 'x-terra-redrive-count', from: 'x-terra-redriven-from' } as const;
/** Set by the broker on delivery: never carried into the republished message. */
const BROKER_HEADERS = ['x-delivery-count', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason'];

interface Described { messageId: string | null; type: string | null; code: string | null; detail: string | null; sourceQueue: string | null; deadLetteredAt: string | null; age: string | null; deaths: Array<{ queue: string; reason: string; count: number; time: string | null }>; redrives: number; body: unknown }

function describe(headers: Record<string, unknown> | undefined, messageId: string | null, type: string | null, body: string): Described {
  const h = headers ?? {};
  const deaths = Array.isArray(h['x-death']) ? (h['x-death'] as Array<Record<string, unknown>>).map((d) => ({
    queue: String(d['queue'] ?? ''), reason: String(d['reason'] ?? ''), count: Number(d['count'] ?? 0),
    time: timeOf(d['time']),
  })) : [];
  const at = typeof h[DEAD_LETTER_HEADERS.at] === 'string' ? (h[DEAD_LETTER_HEADERS.at] as string) : deaths[0]?.time ?? null;
  let parsed: unknown = body;
  try { parsed = JSON.parse(body); } catch { /* kept as text */ }
  return {
    messageId, type: type ?? ((parsed as { type?: string })?.type ?? null),
    code: str(h[DEAD_LETTER_HEADERS.code]) ?? (deaths[0] ? `BROKER_${deaths[0].reason.toUpperCase()}` : null),
    detail: str(h[DEAD_LETTER_HEADERS.detail]),
    sourceQueue: str(h[DEAD_LETTER_HEADERS.queue]) ?? deaths[0]?.queue ?? null,
    deadLetteredAt: at, age: at ? ago(at) : null, deaths, redrives: Number(h[REDRIVE_HEADERS.count] ?? 0), body: parsed,
  };
}

const str = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : null);
function timeOf(t: unknown): string | null {
  if (typeof t === 'number') return new Date(t * 1000).toISOString();
  if (t && typeof t === 'object' && 'value' in t) return new Date(Number((t as { value: number }).value) * 1000).toISOString();
  return null;
}

export function registerDlq(program: Command, ctx: Context, common: (c: Command) => Command): void {
  const dlq = program.command('dlq').description('Dead-letter queues: list, show, redrive (at-least-once), purge');

  common(dlq.command('list'))
    .description("Every dead-letter queue of the topology with its message count and broker (with two brokers, the other side's as the transfer log read them)")
    .addHelpText('after', '\nExample:\n  terra dlq list --json | jq \'.[] | select(.messages > 0)\'')
    .action(async (o: CommonOptions) => {
      const mgmt = new Management(ctx);
      const queues = deadLetterQueues(ctx);
      const [mine, other] = await Promise.all([mgmt.queues(ctx.cfg.AMQP_PREFIX), otherBrokerDepths(ctx, queues)]);
      const depth = new Map(mine.map((q) => [q.name, q.messages]));
      const otherDepth = other instanceof Map ? other : new Map<string, number | null>();
      const rows = queues.map(({ here, ...d }) => (here
        ? { ...d, messages: depth.get(d.name) ?? 0, declared: depth.has(d.name) }
        : { ...d, messages: otherDepth.get(d.name) ?? null, declared: otherDepth.has(d.name) }));
      const count = (r: (typeof rows)[number]) => (!r.declared ? '(not declared)' : r.messages === null ? '(not read)' : String(r.messages));
      ctx.out(o, rows, () => [
        table(['dead-letter queue', 'broker', 'messages', 'returns to'], rows.map((r) => [r.name, r.broker, count(r), r.source ?? '(nowhere: log lines for an operator)'])),
        ...(other instanceof Map ? [] : [other.error]),
      ].join('\n'));
    });

  common(dlq.command('show'))
    .argument('<queue>', 'a dead-letter queue (terra dlq list)')
    .description("Each message's error code and detail, the queue it came from, x-death and age (a peek: messages stay in the queue)")
    .option('--limit <n>', 'at most this many messages', (v) => positiveInt(v, '--limit'), 20)
    .addHelpText('after', '\nExample:\n  terra dlq show terra.batcher.file-uploaded.ua-mac.dlq --limit 5')
    .action(async (queue: string, o: CommonOptions & { limit: number }) => {
      const q = deadLetterQueue(ctx, queue);
      const mgmt = new Management(ctx);
      if (!(await mgmt.exists(q.name))) throw notFound(`dead-letter queue ${q.name} is not declared on the broker`, 'QUEUE_NOT_DECLARED');
      const msgs = (await mgmt.peek(q.name, o.limit)).map((m) => describe(m.properties.headers, m.properties.message_id ?? null, m.properties.type ?? null,
        m.payload_encoding === 'base64' ? Buffer.from(m.payload, 'base64').toString() : m.payload));
      ctx.out(o, { queue: q.name, returnsTo: q.source, messages: msgs }, () => msgs.length === 0 ? `${q.name}: empty` : msgs.map((m) => [
        `${m.messageId ?? '(no id)'}  ${m.type ?? ''}  ${m.code ?? '?'}  dead-lettered ${m.deadLetteredAt ?? '?'}${m.age ? ` (${m.age})` : ''}${m.redrives ? `  redriven ${m.redrives}x` : ''}`,
        `  from ${m.sourceQueue ?? '?'}: ${m.detail ?? ''}`,
        ...m.deaths.map((d) => `  x-death: ${d.queue} ${d.reason} x${d.count} ${d.time ?? ''}`),
      ].join('\n')).join('\n'));
    });

  common(dlq.command('redrive'))
    .argument('<queue>', 'a dead-letter queue (terra dlq list)')
    .description('Send dead letters back to the queue they came from, with a header recording the redrive: each is published, its confirm awaited, then acked (at-least-once; an interruption loses nothing)')
    .option('--filter <code>', 'only messages with this error code (x-terra-error-code)')
    .option('--dry-run', 'list what would be redriven; change nothing')
    .option('--limit <n>', 'at most this many messages', (v) => positiveInt(v, '--limit'))
    .addHelpText('after', '\nExamples:\n  terra dlq redrive terra.cleaner.file-transferred.ua-mac.dlq --dry-run\n  terra dlq redrive terra.batcher.file-uploaded.ua-mac.dlq --filter GLOBUS_UNAVAILABLE')
    .action(async (queue: string, o: CommonOptions & { filter?: string; dryRun?: boolean; limit?: number }) => {
      const q = deadLetterQueue(ctx, queue);
      if (q.source === null) throw notFound(`${q.name} holds log lines the log-tailer refused: they have no queue to return to (fix the file and use \`terra resend\`)`, 'NO_SOURCE_QUEUE');
      const r = await redrive(ctx, o, q.name, q.source, o);
      ctx.out(o, r, () => `${o.dryRun ? 'would redrive' : 'redriven'} ${r.redriven.length} message(s) from ${q.name} to ${q.source}${r.skipped ? `; ${r.skipped} skipped (other codes)` : ''}${r.interrupted ? ' (interrupted: the rest stay in the dead-letter queue)' : ''}`
        + (o.dryRun ? `\n${table(['message', 'code', 'detail'], r.redriven.map((m) => [m.messageId ?? '?', m.code ?? '?', (m.detail ?? '').slice(0, 80)]))}` : ''));
      if (r.interrupted) throw new CliError('', EXIT.INTERRUPTED, 'INTERRUPTED');
    });

  common(dlq.command('purge'))
    .argument('<queue>', 'a dead-letter queue (terra dlq list)')
    .description('Delete every message of a dead-letter queue (asks first unless --yes)')
    .option('--yes', 'do not ask')
    .addHelpText('after', '\nExample:\n  terra dlq purge terra.log-tailer.rejects.dlq --yes')
    .action(async (queue: string, o: CommonOptions & { yes?: boolean }) => {
      const q = deadLetterQueue(ctx, queue);
      const mgmt = new Management(ctx);
      const info = await mgmt.exists(q.name);
      if (!info) throw notFound(`dead-letter queue ${q.name} is not declared on the broker`, 'QUEUE_NOT_DECLARED');
      await ctx.confirm(`Delete all ${info.messages} message(s) of ${q.name}?`, o.yes);
      await mgmt.purge(q.name);
      ctx.out(o, { queue: q.name, purged: info.messages }, () => `purged ${info.messages} message(s) from ${q.name}`);
    });
}

/**
 * The redrive loop, one message at a time: get (unacked) → publish to the
 * source queue through the default exchange, mandatory, on a confirm channel →
 * wait for the confirm → ack. A crash between confirm and ack leaves the
 * message in both queues (at-least-once; the consumers are idempotent), never
 * in neither. Messages of other codes (--filter) and a dry run's are held
 * unacked and given back at the end, so the loop never sees one twice; the
 * loop stops after the queue's depth at the start, so messages that die again
 * meanwhile are not redriven twice in one run.
 */
async function redrive(ctx: Context, o: CommonOptions, dlqName: string, source: string, opts: { filter?: string; dryRun?: boolean; limit?: number }) {
  let conn: amqp.ChannelModel;
  try {
    conn = await amqp.connect(ctx.cfg.AMQP_URL);
  } catch (err) {
    throw unreachable(`cannot reach RabbitMQ: ${(err as Error).message}`);
  }
  conn.on('error', () => undefined);
  const held: GetMessage[] = [];
  const redriven: Described[] = [];
  let skipped = 0;
  try {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    // A mandatory publish that reaches no queue comes back (basic.return) before its confirm: then the dead letter is not acked.
    let returned = false;
    ch.on('return', () => {
      returned = true;
    });
    const depth = await ch.checkQueue(dlqName).then((r) => r.messageCount, () => null);
    if (depth === null) throw notFound(`dead-letter queue ${dlqName} is not declared on the broker`, 'QUEUE_NOT_DECLARED');
    const check = await conn.createChannel();
    check.on('error', () => undefined);
    if (!(await check.checkQueue(source).then(() => true, () => false))) throw notFound(`${source}, where ${dlqName}'s messages return, is not declared: start its service first`, 'QUEUE_NOT_DECLARED');
    await check.close().catch(() => undefined);
    const max = Math.min(depth, opts.limit ?? Infinity);
    ctx.longRunning = true;
    const bar = ctx.progress(o, max, opts.dryRun ? 'reading' : 'redriving');
    let seen = 0;
    while (seen < max && !ctx.interrupted) {
      const m = await ch.get(dlqName, { noAck: false });
      if (!m) break;
      seen++;
      bar.tick();
      const d = describe(m.properties.headers, m.properties.messageId ?? null, m.properties.type ?? null, m.content.toString());
      if (opts.filter !== undefined && d.code !== opts.filter) {
        skipped++;
        held.push(m);
        continue;
      }
      redriven.push(d);
      if (opts.dryRun) {
        held.push(m);
        continue;
      }
      const headers: Record<string, unknown> = { ...m.properties.headers, [REDRIVE_HEADERS.at]: new Date().toISOString(), [REDRIVE_HEADERS.count]: d.redrives + 1, [REDRIVE_HEADERS.from]: dlqName };
      for (const h of BROKER_HEADERS) delete headers[h];
      returned = false;
      await new Promise<void>((resolve, reject) => {
        ch.publish('', source, m.content, { ...m.properties, headers, mandatory: true, persistent: true }, (err) => (err ? reject(new CliError(`RabbitMQ refused the redrive of ${d.messageId ?? 'a message'} (nack): it stays in ${dlqName}`, EXIT.UNREACHABLE, 'PUBLISH_NACKED')) : resolve()));
      });
      if (returned) throw notFound(`${source} no longer exists (the redrive of ${d.messageId ?? 'a message'} came back unroutable): it stays in ${dlqName}`, 'UNROUTABLE');
      ch.ack(m);
    }
    bar.stop();
    // Held messages go back (requeued) when the channel closes; nack them explicitly first.
    for (const m of held) ch.nack(m, false, true);
    held.length = 0;
    await ch.close();
    return { queue: dlqName, to: source, dryRun: Boolean(opts.dryRun), redriven, skipped, interrupted: ctx.interrupted };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
