import amqp from 'amqplib';
import { startPrivateRabbit } from './rabbit.js';

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
