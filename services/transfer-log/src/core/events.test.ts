import { createEvent } from '@terra-transfer/contracts';
import { recordDelivery } from './events.js';

const up = createEvent('file.uploaded', 'e-1', { site: 'ua-mac', sensor: 's', path: '/c/a', size: 1, mtimeMs: 1, ftpTime: null, source: 'sweep', attempt: 1, uploadId: 'u-1' }, new Date('2026-01-05T10:00:00Z'));
const d = (body: string | Buffer, extra: Partial<{ messageId: string; timestamp: number }> = {}) => ({ body: Buffer.isBuffer(body) ? body : Buffer.from(body), routingKey: 'file.uploaded', messageId: undefined, timestamp: undefined, ...extra });

describe('recordDelivery', () => {
  it('a valid event: applied, found by site, path and upload id, at its own time', () => {
    const r = recordDelivery(d(JSON.stringify(up)));
    expect(r).toMatchObject({ eventId: 'e-1', status: 'valid', type: 'file.uploaded', version: 1, site: 'ua-mac', path: '/c/a', uploadId: 'u-1', raw: null });
    expect(r.time.toISOString()).toBe('2026-01-05T10:00:00.000Z');
    expect(JSON.parse(r.json!)).toEqual(up);
  });

  it('a chunk (file.transferred, file.deleted v2) is found by its task; a version-1 event by its file, still valid (decision 0053)', () => {
    const file = { sensor: 's', path: '/c/a', sourcePath: '/s/a', destinationPath: '/d/a', size: 1, mtimeMs: 1, checksum: 'x', checksumAlgorithm: 'MD5', uploadId: 'u-1', attempt: 1 };
    const chunk = createEvent('file.transferred', 'c-1', { site: 'ua-mac', taskId: 't-1', chunk: 0, files: [file, { ...file, path: '/c/b', uploadId: 'u-2' }] });
    expect(recordDelivery(d(JSON.stringify(chunk)))).toMatchObject({ status: 'valid', version: 2, site: 'ua-mac', path: null, uploadId: null, taskId: 't-1' });
    const deleted = createEvent('file.deleted', 'x-1', { site: 'ua-mac', taskId: 't-1', files: [{ path: '/c/a', bytesFreed: 1, uploadId: 'u-1' }], failed: [] });
    expect(recordDelivery(d(JSON.stringify(deleted)))).toMatchObject({ status: 'valid', path: null, uploadId: null, taskId: 't-1' });
    const v1 = { type: 'file.transferred', version: 1, id: 'old-1', time: '2026-01-05T10:00:00Z', data: { site: 'ua-mac', taskId: 't-0', ...file } };
    expect(recordDelivery(d(JSON.stringify(v1)))).toMatchObject({ status: 'valid', version: 1, path: '/c/a', uploadId: 'u-1', taskId: 't-0' });
  });

  it.each([
    ['unknown type', JSON.stringify({ ...up, type: 'file.snapshotted' }), 'unknown_type'],
    ['newer version', JSON.stringify({ ...up, version: 2 }), 'unknown_version'],
    ['schema mismatch', JSON.stringify({ ...up, data: { ...up.data, size: -1 } }), 'schema_mismatch'],
    ['not an event', '[1,2]', 'not_an_event'],
  ])('%s: stored as JSON, not applied', (_what, body, status) => {
    const r = recordDelivery(d(body));
    expect(r).toMatchObject({ status, event: undefined, site: null, path: null });
    expect(r.json).not.toBeNull();
  });

  it('not JSON, invalid UTF-8, NUL: kept as bytes, with an id stable across redeliveries', () => {
    const a = recordDelivery(d('{oops'));
    expect(a).toMatchObject({ status: 'not_json', json: null });
    expect(a.eventId).toBe(recordDelivery(d('{oops')).eventId);
    expect(a.time.getTime()).toBe(0);
    expect(recordDelivery(d(Buffer.from([0xff, 0xfe]), { messageId: 'm-9', timestamp: 1_767_600_000 }))).toMatchObject({ status: 'not_storable', eventId: 'm-9', time: new Date(1_767_600_000_000) });
    const nul = recordDelivery(d(JSON.stringify({ ...up, data: { ...up.data, path: '/c/a\u0000' } })));
    expect(nul).toMatchObject({ status: 'not_storable', json: null, path: null });
    expect(recordDelivery(d(JSON.stringify({ ...up, id: 'x\ud800' }))).eventId).toMatch(/^sha256:/);
  });

  it('a time PostgreSQL cannot hold falls back to the publish timestamp', () => {
    expect(recordDelivery(d(JSON.stringify({ ...up, time: '+275760-09-13T00:00:00.000Z' }), { timestamp: 1000 })).time.getTime()).toBe(1_000_000);
  });
});
