import amqp from 'amqplib';
import { AMQP_URL, deleteTopology, uniquePrefix } from './index.js';
import { queueDepths, startPrivateRabbit } from './rabbit.js';

describe('startPrivateRabbit', () => {
  it('runs a broker of its own whose durable messages survive a restart', async () => {
    const r = await startPrivateRabbit();
    try {
      let conn = await amqp.connect(r.url);
      let ch = await conn.createConfirmChannel();
      await ch.assertQueue('q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      ch.sendToQueue('q', Buffer.from('kept'), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      await r.restart();
      conn = await amqp.connect(r.url);
      ch = await conn.createConfirmChannel();
      const m = await ch.get('q', { noAck: true });
      expect(m && m.content.toString()).toBe('kept');
      await conn.close();
    } finally {
      await r.stop();
    }
  }, 150_000);

});

describe('startPrivateRabbit settings', () => {
  it('applies rabbitmq.conf and advanced.config settings: a delivery held past consumer_timeout closes its channel and comes back', async () => {
    const r = await startPrivateRabbit({ conf: { consumer_timeout: 3000 }, advanced: { channel_tick_interval: 500 } });
    try {
      const conn = await amqp.connect(r.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      ch.sendToQueue('q', Buffer.from('held'), { persistent: true });
      await ch.waitForConfirms();
      const closed = new Promise<string>((resolve) => ch.once('error', (err: Error) => resolve(err.message)));
      const t0 = Date.now();
      await ch.consume('q', () => undefined, { noAck: false });
      // Held and never acked: the broker's consumer timeout (not the default 30 min) ends the channel.
      expect(await closed).toMatch(/PRECONDITION_FAILED.*timeout/i);
      expect(Date.now() - t0).toBeLessThan(10_000);
      const ch2 = await conn.createChannel();
      const m = await ch2.get('q', { noAck: true });
      expect(m && m.properties.headers?.['x-delivery-count']).toBe(1);
      await conn.close();
    } finally {
      await r.stop();
    }
  }, 150_000);
});

describe('queueDepths', () => {
  it('counts the messages ready in each queue, and tells a missing queue (null) from an empty one', async () => {
    const prefix = uniquePrefix('depths');
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue(`${prefix}.a`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.assertQueue(`${prefix}.b`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      for (let i = 0; i < 3; i++) ch.sendToQueue(`${prefix}.a`, Buffer.from(String(i)), { persistent: true });
      await ch.waitForConfirms();
      expect(await queueDepths(AMQP_URL, [`${prefix}.a`, `${prefix}.b`, `${prefix}.missing`])).toEqual({ [`${prefix}.a`]: 3, [`${prefix}.b`]: 0, [`${prefix}.missing`]: null });
    } finally {
      await conn.close();
      await deleteTopology(prefix);
    }
  });
});
