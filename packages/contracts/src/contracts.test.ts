import { readFileSync } from 'node:fs';
import { ContractError, MAX_CHUNK_FILES, MESSAGE_TYPES, SITE_ROUTED_TYPES, createEvent, declarations, decode, deletedChunk, ingestedChunk, routingKey, shovelParameter, topology, transferredChunk } from './index.js';
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
    expect(routingKey(createEvent('file.deleted', 'd', { site: 'ua-mac', taskId: 't', files: [{ path: '/c/a', bytesFreed: 1, uploadId: 'u' }], failed: [] }))).toBe('file.deleted');
    expect(SITE_ROUTED_TYPES).toEqual(['file.uploaded', 'file.transferred', 'file.failed']);
  });

  it('produces chunks (version 2) and still accepts the one-file version 1 as a chunk of its file', () => {
    const file = { sensor: 's', path: '/cache/a', sourcePath: '/src/a', destinationPath: '/dst/a', size: 3, mtimeMs: 1, checksum: 'x', checksumAlgorithm: 'MD5', uploadId: 'u1', attempt: 1 };
    const v2 = createEvent('file.transferred', 'c', { site: 'ua-mac', taskId: 't', chunk: 0, files: [file, { ...file, path: '/cache/b', uploadId: 'u2' }] });
    expect(v2.version).toBe(2);
    expect(routingKey(v2)).toBe('file.transferred.ua-mac');
    expect(transferredChunk(decode('file.transferred', JSON.stringify(v2))).files).toHaveLength(2);
    const v1 = { type: 'file.transferred', version: 1, id: 'old', time: '2026-01-01T00:00:00Z', data: { site: 'ua-mac', taskId: 't', ...file } };
    expect(transferredChunk(decode('file.transferred', JSON.stringify(v1)))).toEqual({ site: 'ua-mac', taskId: 't', chunk: 0, files: [file] });
    const d1 = { type: 'file.deleted', version: 1, id: 'd', time: '2026-01-01T00:00:00Z', data: { site: 'ua-mac', path: '/cache/a', bytesFreed: 3, taskId: 't', uploadId: 'u1' } };
    expect(deletedChunk(decode('file.deleted', JSON.stringify(d1)))).toEqual({ site: 'ua-mac', taskId: 't', files: [{ path: '/cache/a', bytesFreed: 3, uploadId: 'u1' }], failed: [] });
    const ids = { fileId: null, datasetId: 'a'.repeat(24), datasetName: 'd', collectionIds: [], spaceId: null };
    const i1 = { type: 'file.ingested', version: 1, id: 'i', time: '2026-01-01T00:00:00Z', data: { site: 'ua-mac', sensor: 's', destinationPath: '/dst/a', clowderPath: '/dst/a', uploadId: 'u1', ...ids } };
    expect(ingestedChunk(decode('file.ingested', JSON.stringify(i1)))).toMatchObject({ taskId: null, files: [{ uploadId: 'u1' }], failed: [] });
    // A chunk is bounded, and never empty.
    expect(code(() => createEvent('file.transferred', 'c', { site: 'ua-mac', taskId: 't', chunk: 0, files: [] }))).toBe('SCHEMA_MISMATCH');
    expect(code(() => createEvent('file.transferred', 'c', { site: 'ua-mac', taskId: 't', chunk: 0, files: Array.from({ length: MAX_CHUNK_FILES + 1 }, () => file) }))).toBe('SCHEMA_MISMATCH');
    expect(code(() => decode('file.transferred', JSON.stringify({ ...v1, version: 3 })))).toBe('UNKNOWN_VERSION');
  });

  it('docs/messages.md is the rendering of the schemas', () => {
    const doc = readFileSync(new URL('../../../docs/messages.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderMessagesDoc());
  });
});
