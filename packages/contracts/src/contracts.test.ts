import { readFileSync } from 'node:fs';
import { ContractError, MESSAGE_TYPES, SITE_ROUTED_TYPES, createEvent, declarations, decode, routingKey, shovelParameter, topology } from './index.js';
import { renderMessagesDoc } from './render-docs.js';

const uploaded = {
  site: 'ua-mac', sensor: 'stereoTop', path: '/cache/a.bin', size: 3, mtimeMs: 1, ftpTime: null,
  source: 'sweep' as const, attempt: 1, uploadId: 'sweep:/cache/a.bin:3:1',
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ContractError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('contracts', () => {
  it('round-trips a valid event', () => {
    const e = createEvent('file.uploaded', 'id-1', uploaded, new Date(0));
    expect(decode('file.uploaded', JSON.stringify(e))).toEqual(e);
  });

  it('names what is wrong with a bad message', () => {
    expect(code(() => decode('file.uploaded', Buffer.from('{nope')))).toBe('NOT_JSON');
    expect(code(() => decode('file.uploaded', '[1,2]'))).toBe('NOT_AN_EVENT');
    expect(code(() => decode('file.uploaded', '{"type":"file.exploded","version":1}'))).toBe('UNKNOWN_TYPE');
    expect(code(() => decode('file.uploaded', '{"type":"file.deleted","version":1}'))).toBe('UNKNOWN_TYPE');
    expect(code(() => decode('file.uploaded', '{"type":"file.uploaded","version":7}'))).toBe('UNKNOWN_VERSION');
    const e = createEvent('file.uploaded', 'id-1', uploaded);
    const bad = { ...e, data: { ...e.data, path: 'relative/a.bin' } };
    expect(code(() => decode('file.uploaded', JSON.stringify(bad)))).toBe('SCHEMA_MISMATCH');
    expect(code(() => decode('file.uploaded', JSON.stringify({ ...e, extra: 1 })))).toBe('SCHEMA_MISMATCH');
  });

  it('refuses to build an invalid event', () => {
    expect(code(() => createEvent('file.uploaded', 'x', { ...uploaded, size: -1 }))).toBe('SCHEMA_MISMATCH');
  });

  it('derives every name from the prefix, with one queue per site for per-site consumers', () => {
    const t = topology('t1', ['ua-mac', 'field-b']);
    expect(t.eventsExchange).toBe('t1.events');
    expect(t.queue({ key: 'batcherUploads', site: 'ua-mac' })).toBe('t1.batcher.file-uploaded.ua-mac');
    expect(t.deadLetterQueue({ key: 'batcherUploads', site: 'field-b' })).toBe('t1.batcher.file-uploaded.field-b.dlq');
    expect(t.queue({ key: 'cleanerTransfers', site: 'field-b' })).toBe('t1.cleaner.file-transferred.field-b');
    expect(t.queue({ key: 'cleanerFailures', site: 'ua-mac' })).toBe('t1.cleaner.file-failed.ua-mac');
    expect(t.queue('ingestTransfers')).toBe('t1.ingest.file-transferred');
    expect(new Set(t.queues().map((q) => q.name)).size).toBe(t.queues().length);
    const byName = new Map(t.queues().map((q) => [q.name, q]));
    expect(byName.get('t1.batcher.file-uploaded.field-b')).toMatchObject({ site: 'field-b', bindings: ['file.uploaded.field-b'], tap: false });
    expect(byName.get('t1.cleaner.file-failed.ua-mac')?.bindings).toEqual(['file.failed.ua-mac']);
    // All-site consumers bind every known site (no wildcard: an unknown site stays unroutable); types not routed per site keep their type.
    expect(byName.get('t1.ingest.file-transferred')?.bindings).toEqual(['file.transferred.ua-mac', 'file.transferred.field-b']);
    expect(byName.get('t1.file-failures')?.bindings).toEqual(['file.failed.ua-mac', 'file.failed.field-b']);
    expect(byName.get('t1.file-outcomes')?.bindings).toEqual(['file.deleted', 'file.ingested']);
    expect(byName.get('t1.watcher.task-submitted')?.bindings).toEqual(['task.submitted']);
    expect([...byName.keys()].filter((n) => n.startsWith('t1.batcher.'))).toEqual(['t1.batcher.file-uploaded.ua-mac', 't1.batcher.file-uploaded.field-b']);
  });

  it('refuses a per-site queue without its site, and a site name that cannot be part of a queue name', () => {
    const t = topology('t1', ['ua-mac']);
    expect(() => t.queue('batcherUploads' as never)).toThrow(/one per site/);
    expect(() => t.queue({ key: 'batcherUploads', site: 'a.b' })).toThrow(/cannot name a queue/);
    expect(() => topology('t1', ['UA#'])).toThrow(/cannot name a queue/);
  });

  it('splits the topology over a site broker and a data-centre broker, each outbox carrying what the other side consumes', () => {
    const one = topology('t1', ['ua-mac']);
    const site = topology('t1', ['ua-mac'], 'site');
    const dc = topology('t1', ['ua-mac'], 'datacentre');
    // Every queue lives on exactly one side.
    expect([...site.queues(), ...dc.queues()].map((q) => q.name).sort()).toEqual(one.queues().map((q) => q.name).sort());
    expect(site.queues().map((q) => q.name)).toEqual(['t1.batcher.file-uploaded.ua-mac', 't1.cleaner.file-transferred.ua-mac', 't1.cleaner.file-failed.ua-mac', 't1.log-tailer.rejects']);
    // The site sends everything the data centre consumes (the transfer log records every type) ...
    expect([...site.link!.outbox.bindings].sort()).toEqual(MESSAGE_TYPES.map((t) => (SITE_ROUTED_TYPES as readonly string[]).includes(t) ? `${t}.ua-mac` : t).sort());
    // ... and gets back what its own consumers bind: the watcher's retries and give-ups, and transfers.
    expect([...dc.link!.outbox.bindings].sort()).toEqual(['file.failed.ua-mac', 'file.transferred.ua-mac', 'file.uploaded.ua-mac']);
    expect(site.link).toMatchObject({ outbox: { name: 't1.shovel.to-dc' }, inboundExchange: 't1.events.inbound', otherSide: 'datacentre' });
    expect(dc.link).toMatchObject({ outbox: { name: 't1.shovel.to-site' }, inboundExchange: 't1.events.inbound', otherSide: 'site' });
    // No loop: the outbox is bound to the local exchange only; the inbound exchange feeds the local queues alone.
    const d = declarations(site);
    expect(d.bindings.filter((b) => b.queue === 't1.shovel.to-dc').every((b) => b.exchange === 't1.events')).toBe(true);
    expect(d.bindings.filter((b) => b.exchange === 't1.events.inbound').map((b) => b.queue)).not.toContain('t1.shovel.to-dc');
    expect(d.bindings).toContainEqual({ exchange: 't1.events.inbound', queue: 't1.batcher.file-uploaded.ua-mac', routingKey: 'file.uploaded.ua-mac' });
    expect(declarations(one).exchanges).toEqual(['t1.events', 't1.dlx']);
    // A service configured for the wrong side is told at its start.
    expect(() => dc.queue({ key: 'batcherUploads', site: 'ua-mac' })).toThrow(/lives on the site broker/);
    expect(() => site.queue('watcherTasks')).toThrow(/lives on the datacentre broker/);
    expect(shovelParameter(site, { remoteUri: 'amqp://u:p@dc:5672/terra' })).toEqual({
      name: 't1-site-to-dc',
      value: { 'src-protocol': 'amqp091', 'src-uri': 'amqp://', 'src-queue': 't1.shovel.to-dc', 'dest-protocol': 'amqp091', 'dest-uri': 'amqp://u:p@dc:5672/terra', 'dest-exchange': 't1.events.inbound', 'ack-mode': 'on-confirm', 'src-delete-after': 'never', 'reconnect-delay': 5 },
    });
    expect(() => shovelParameter(one, { remoteUri: 'amqp://dc' })).toThrow(/two brokers/);
  });

  it('routes site-routed events by their site, the others by their type', () => {
    expect(routingKey(createEvent('file.uploaded', 'id-1', uploaded))).toBe('file.uploaded.ua-mac');
    expect(routingKey(createEvent('file.deleted', 'd', { site: 'ua-mac', path: '/c/a', bytesFreed: 1, taskId: 't', uploadId: 'u' }))).toBe('file.deleted');
    expect(SITE_ROUTED_TYPES).toEqual(['file.uploaded', 'file.transferred', 'file.failed']);
  });

  it('docs/messages.md is the rendering of the schemas', () => {
    const doc = readFileSync(new URL('../../../docs/messages.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderMessagesDoc());
  });
});
