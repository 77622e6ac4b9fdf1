import { readFileSync } from 'node:fs';
import { ContractError, createEvent, decode, topology } from './index.js';
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

  it('derives every name from the prefix', () => {
    const t = topology('t1');
    expect(t.eventsExchange).toBe('t1.events');
    expect(t.queue('batcherUploads')).toBe('t1.batcher.file-uploaded');
    expect(t.deadLetterQueue('batcherUploads')).toBe('t1.batcher.file-uploaded.dlq');
    expect(new Set(t.queues().map((q) => q.name)).size).toBe(t.queues().length);
  });

  it('docs/messages.md is the rendering of the schemas', () => {
    const doc = readFileSync(new URL('../../../docs/messages.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderMessagesDoc());
  });
});
