import { createEvent } from '@terra-transfer/contracts';
import { foldVersions } from './timeline.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 8, 0, s));
const base = { site: 'ua-mac', sensor: 's', path: '/c/a', size: 10, mtimeMs: 5, uploadId: 'u-1' };
const uploaded = createEvent('file.uploaded', 'up', { ...base, ftpTime: at(0).toISOString(), source: 'xferlog', attempt: 1 }, at(1));
const { site: _site, ...baseFile } = base;
const transferred = (id: string, s: number) => createEvent('file.transferred', id, { site: 'ua-mac', taskId: 't', chunk: 0, files: [{ ...baseFile, sourcePath: '/s/a', destinationPath: '/d/a', checksum: 'c', checksumAlgorithm: 'MD5', attempt: 1 }] }, at(s));
const { mtimeMs: _m, ...noMtime } = base;
const failed = (id: string, s: number) => createEvent('file.failed', id, { ...noMtime, attempts: 3, reason: 'EXPIRED', detail: '', lastTaskId: 't' }, at(s));
const deleted = createEvent('file.deleted', 'del', { site: 'ua-mac', taskId: 't', files: [{ path: '/c/a', bytesFreed: 10, uploadId: 'u-1' }], failed: [] }, at(40));

describe('foldVersions', () => {
  it('folds events in any order into one timeline: first arrival kept, state only forward, failures added', () => {
    const { versions, failures } = foldVersions([deleted, transferred('tr2', 35), failed('f1', 20), uploaded, transferred('tr1', 30), failed('f2', 25)]);
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ upload_id: 'u-1', ftp_time: at(0).toISOString(), uploaded_at: at(1).toISOString(), transferred_at: at(30).toISOString(), deleted_at: at(40).toISOString(), state: 'deleted', state_at: at(40).toISOString(), failures: 2, first_seen: at(1).toISOString(), failure_reason: 'EXPIRED', bytes_freed: 10 });
    expect(failures.map((f) => f.event_id)).toEqual(['f1', 'f2']);
  });

  it('a chunk (file.transferred, file.deleted, file.ingested v2) speaks of each of its files; a refusal changes no state', () => {
    const f = (n: number) => ({ ...baseFile, path: `/c/${n}`, uploadId: `u-${n}`, sourcePath: `/s/${n}`, destinationPath: `/d/${n}`, checksum: 'c', checksumAlgorithm: 'MD5', attempt: 1 });
    const tr = createEvent('file.transferred', 'ch', { site: 'ua-mac', taskId: 't', chunk: 0, files: [f(1), f(2)] }, at(30));
    const del = createEvent('file.deleted', 'dl', { site: 'ua-mac', taskId: 't', files: [{ path: '/c/1', bytesFreed: 10, uploadId: 'u-1' }], failed: [{ path: '/c/2', uploadId: 'u-2', code: 'CHECKSUM_MISMATCH', detail: 'kept' }] }, at(40));
    const ing = createEvent('file.ingested', 'in', { site: 'ua-mac', taskId: 't', files: [{ sensor: 's', destinationPath: '/d/2', clowderPath: '/d/2', fileId: 'a'.repeat(24), datasetId: 'b'.repeat(24), datasetName: 'ds', collectionIds: [], spaceId: null, uploadId: 'u-2' }], failed: [] }, at(50));
    const { versions } = foldVersions([tr, del, ing]);
    const by = new Map(versions.map((v) => [v.upload_id, v]));
    expect(by.get('u-1')).toMatchObject({ state: 'deleted', task_id: 't', bytes_freed: 10, destination_path: '/d/1' });
    expect(by.get('u-2')).toMatchObject({ state: 'transferred', deleted_at: null, clowder_file_id: 'a'.repeat(24) });
  });

  it('one task.submitted speaks of each of its files', () => {
    const f = (n: number) => ({ path: `/c/${n}`, sourcePath: `/s/${n}`, destinationPath: `/d/${n}`, size: n, mtimeMs: 1, site: 'ua-mac', sensor: 's', uploadId: `u-${n}`, attempt: 1 });
    const sub = createEvent('task.submitted', 'sub', { taskId: 't', submissionId: 's', batchId: 'b', label: '', sourceEndpoint: 'a', destinationEndpoint: 'b', submittedAt: at(2).toISOString(), files: [f(1), f(2)] }, at(2));
    expect(foldVersions([sub]).versions.map((v) => [v.upload_id, v.state, v.batch_id, v.task_id])).toEqual([['u-1', 'submitted', 'b', 't'], ['u-2', 'submitted', 'b', 't']]);
  });
});
