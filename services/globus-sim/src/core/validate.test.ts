import { parseScopes } from './scope.js';
import { validateTransfer } from './validate.js';

const known = (id: string) => id === 'src' || id === 'dst';
const base = { DATA_TYPE: 'transfer', submission_id: 's1', source_endpoint: 'src', destination_endpoint: 'dst', DATA: [{ DATA_TYPE: 'transfer_item', source_path: '/a', destination_path: '/b' }] };
const fails = (over: Record<string, unknown>) => {
  try {
    validateTransfer({ ...base, ...over }, known, 0);
  } catch (e) {
    return { status: (e as { status: number }).status, code: (e as { code: string }).code };
  }
  return undefined;
};

describe('validateTransfer', () => {
  it('normalizes a valid document with the SDK defaults', () => {
    const t = validateTransfer({ ...base, sync_level: 'checksum', label: 'ok label' }, known, 0);
    expect(t).toMatchObject({ sync_level: 3, verify_checksum: false, skip_source_errors: false, label: 'ok label', deadlineMs: null });
    expect(t.items).toEqual([{ source_path: '/a', destination_path: '/b', recursive: false, external_checksum: null, checksum_algorithm: null }]);
  });
  it('gives the Globus status and code for bad input', () => {
    expect(fails({ DATA: [] })).toEqual({ status: 400, code: 'ClientError.BadRequest.NoTransferItems' });
    expect(fails({ source_endpoint: 'zzz' })).toEqual({ status: 404, code: 'EndpointNotFound' });
    expect(fails({ sync_level: 4 })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ sync_level: 1.5 })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ label: 'a\rb' })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ label: ' padded' })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ verify_checksum: 'yes' })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ deadline: '2020-01-01T00:00:00+00:00' })).toBeUndefined(); // now = 0 in this test
    expect(fails({ DATA: [{ DATA_TYPE: 'transfer_item', source_path: '/a', destination_path: '/dir/' }] })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ DATA: [{ DATA_TYPE: 'transfer_item', source_path: '/a/../../b', destination_path: '/b' }] })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
    expect(fails({ DATA: [{ DATA_TYPE: 'transfer_item', source_path: '/a', destination_path: '/b', recursive: 'no' }] })).toEqual({ status: 400, code: 'ClientError.BadRequest' });
  });
  it('refuses a deadline in the past', () => {
    expect(() => validateTransfer({ ...base, deadline: '2020-01-01T00:00:00+00:00' }, known, Date.now())).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('parseScopes', () => {
  it('keeps bracketed dependencies together', () => {
    expect(parseScopes('urn:x[*https://a/data_access *https://b/data_access] openid')).toEqual([
      { scope: 'urn:x', dependencies: ['https://a/data_access', 'https://b/data_access'] },
      { scope: 'openid', dependencies: [] },
    ]);
    expect(parseScopes('urn:x[unclosed')).toBeUndefined();
  });
});
