import amqplib from 'amqplib';
import { startPrivateRabbit, waitFor, type PrivateRabbit } from '@terra-transfer/testkit';

/**
 * Two sites, two brokers (docs/architecture.md, decision 0028): a site-side
 * node buffers what the site publishes in a durable outbox queue; a dynamic
 * shovel (rabbitmq_shovel, enabled on these private nodes only) moves it to
 * the data-centre node's exchange with ack-mode on-confirm. The data-centre
 * node is stopped for LINK_DOWN_MS while the site keeps publishing; after it
 * returns, every message arrives exactly once.
 */
const LINK_DOWN_MS = Number(process.env['SHOVEL_LINK_DOWN_MS'] ?? 60_000);
const OUTBOX = 'terra.site.outbox';
const EXCHANGE = 'terra.events';
const INBOX = 'terra.dc.inbox';

async function publishConfirmed(url: string, from: number, count: number): Promise<void> {
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    for (let i = from; i < from + count; i++) ch.publish('', OUTBOX, Buffer.from(JSON.stringify({ n: i })), { persistent: true, messageId: `m-${i}`, headers: { 'x-terra-routing-key': 'file.uploaded.ua-mac' } });
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await conn.close();
  }
}

async function drain(url: string, queue: string): Promise<string[]> {
  const conn = await amqplib.connect(url);
  const ids: string[] = [];
  try {
    const ch = await conn.createChannel();
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      ids.push(String(m.properties.messageId));
    }
    await ch.close();
  } finally {
    await conn.close();
  }
  return ids;
}

async function depth(url: string, queue: string): Promise<number> {
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

describe('site broker → data-centre broker over a shovel, with the link cut', () => {
  let site: PrivateRabbit | undefined;
  let dc: PrivateRabbit | undefined;

  afterAll(async () => {
    // Private nodes: stop() removes their data directories (nothing is left on the machine's broker).
    await site?.stop();
    await dc?.stop();
  });

  it('keeps accepting at the site while the data centre is down, and delivers everything once after', async () => {
    [site, dc] = await Promise.all([startPrivateRabbit({ plugins: ['rabbitmq_shovel'] }), startPrivateRabbit()]);
    // The data-centre side: the exchange the services consume from, and a durable queue standing for them.
    {
      const conn = await amqplib.connect(dc.url);
      const ch = await conn.createChannel();
      await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
      await ch.assertQueue(INBOX, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(INBOX, EXCHANGE, '#');
      await conn.close();
    }
    // The site side: a durable outbox; the shovel is declared on the site node (it runs where the data waits).
    {
      const conn = await amqplib.connect(site.url);
      const ch = await conn.createChannel();
      await ch.assertQueue(OUTBOX, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await conn.close();
    }
    await site.ctl('set_parameter', 'shovel', 'site-to-dc', JSON.stringify({
      'src-protocol': 'amqp091',
      'src-uri': site.url.replace('127.0.0.1', 'localhost'),
      'src-queue': OUTBOX,
      'dest-protocol': 'amqp091',
      'dest-uri': dc.url,
      'dest-exchange': EXCHANGE,
      'dest-exchange-key': 'file.uploaded.ua-mac',
      'ack-mode': 'on-confirm',
      'reconnect-delay': 2,
    }));

    await publishConfirmed(site.url, 0, 200);
    await waitFor('first 200 shovelled', async () => (await depth(dc!.url, INBOX)) === 200, 60_000, 200);

    // The link is cut: the data-centre node goes away (its data kept).
    await dc.ctl('stop_app');
    const cutAt = Date.now();
    // The site keeps accepting (publisher confirms from the site node), in several bursts while the link is down.
    for (let burst = 0; burst < 4; burst++) {
      await publishConfirmed(site.url, 200 + burst * 100, 100);
      await new Promise((r) => setTimeout(r, Math.max(0, LINK_DOWN_MS / 4 - 100)));
    }
    expect(await depth(site.url, OUTBOX)).toBe(400);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(LINK_DOWN_MS * 0.9);

    await dc.ctl('start_app');
    await waitFor('outbox empty', async () => (await depth(site!.url, OUTBOX)) === 0, 90_000, 500);
    await waitFor('all 600 at the data centre', async () => (await depth(dc!.url, INBOX)) >= 600, 30_000, 200);
    // A moment for anything late (a duplicate would show up here).
    await new Promise((r) => setTimeout(r, 3_000));
    const ids = await drain(dc.url, INBOX);
    expect(ids).toHaveLength(600);
    expect(new Set(ids).size).toBe(600);
    for (let i = 0; i < 600; i++) expect(ids).toContain(`m-${i}`);
  }, 170_000);
});
