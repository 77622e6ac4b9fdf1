import { errorDetail, isRetryableStatus } from './errors.js';
import { parseCollection, parseCollectionSummary, parseFile, parseUpload, scalaList } from './parse.js';

const A = '5a0000000000000000000001';
const B = '5a0000000000000000000002';

describe('Clowder response quirks', () => {
  it('reads Scala List(..) strings and real arrays', () => {
    expect(scalaList(`List(${A}, ${B})`)).toEqual([A, B]);
    expect(scalaList('List()')).toEqual([]);
    expect(scalaList([A])).toEqual([A]);
  });

  it('normalizes jsonCollection (all strings) and list items (collectionname)', () => {
    const c = parseCollection({ id: A, name: 'x', description: '', created: 'd', author: 'u', root_flag: 'false', child_collection_ids: `List(${B})`, parent_collection_ids: 'List()', childCollectionsCount: '1', datasetCount: '7', spaces: 'List()' });
    expect(c).toMatchObject({ root: false, childCollectionIds: [B], datasetCount: 7, childCollectionsCount: 1 });
    expect(parseCollectionSummary({ id: A, collectionname: 'stereoTop' }).name).toBe('stereoTop');
    expect(parseCollectionSummary({ id: A, name: 'old' }).name).toBe('old');
  });

  it('turns {"id"} and {"ids"} into one list; a string size into a number', () => {
    expect(parseUpload({ id: A })).toEqual([{ id: A }]);
    expect(parseUpload({ ids: [{ id: A, name: 'a.bin' }, { id: B, name: 'b.bin' }] })).toEqual([{ id: A, name: 'a.bin' }, { id: B, name: 'b.bin' }]);
    expect(() => parseUpload({ status: 'ok' })).toThrow(/neither/);
    expect(parseFile({ id: A, filename: 'a', 'date-created': 'x', size: '123', filepath: '/p/a' })).toMatchObject({ size: 123, filepath: '/p/a' });
  });

  it('extracts one message from JSON objects, JSON strings, text and HTML', () => {
    expect(errorDetail('"Missing parameter [name]"')).toBe('Missing parameter [name]');
    expect(errorDetail('{"status":"bad request","message":"Invalid Json","request":"POST /x"}')).toBe('Invalid Json');
    expect(errorDetail('Not authorized')).toBe('Not authorized');
    expect(errorDetail('<html><head><title>504 Gateway Time-out</title></head></html>')).toBe('504 Gateway Time-out');
  });

  it('retries 5xx and 429, nothing else (the original RETRY/ERROR split)', () => {
    expect([500, 502, 503, 504, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413].some(isRetryableStatus)).toBe(false);
  });
});
