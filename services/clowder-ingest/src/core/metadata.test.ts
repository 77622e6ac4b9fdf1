import type { MetadataRecord } from '@terra-transfer/clowder';
import { agentUserUrl, alreadyAttached, cleanMetadata } from './metadata.js';

describe('cleanMetadata (terrautils clean_json_keys + flag)', () => {
  it('replaces dots in keys recursively through objects, leaves arrays, and flags the result', () => {
    const raw = { 'lemnatec_measurement_metadata': { 'gantry_system_variable_metadata': { 'position x [m]': '1.5', 'time.utc': 'x' } }, 'a.b': [{ 'c.d': 1 }], n: 2 };
    expect(cleanMetadata(raw)).toEqual({
      lemnatec_measurement_metadata: { gantry_system_variable_metadata: { 'position x [m]': '1.5', time_utc: 'x' } },
      a_b: [{ 'c.d': 1 }],
      n: 2,
      terraref_cleaned_metadata: true,
    });
    // The input is not modified.
    expect(raw).toHaveProperty(['a.b']);
  });

  it('keeps an existing flag and leaves other metadata and non-objects unchanged', () => {
    const flagged = { lemnatec_measurement_metadata: {}, terraref_cleaned_metadata: false };
    expect(cleanMetadata(flagged)).toEqual(flagged);
    // Not gantry metadata: attached as it is (terrautils cleaned only LemnaTec gantry metadata).
    expect(cleanMetadata({ 'a.b': 1 })).toEqual({ 'a.b': 1 });
    expect(cleanMetadata([1, 2])).toEqual([1, 2]);
    expect(cleanMetadata('x')).toBe('x');
  });
});

describe('alreadyAttached (TERRA agent check)', () => {
  const rec = (user_id: string): MetadataRecord => ({ agent: { '@type': 'cat:user', user_id } }) as unknown as MetadataRecord;
  const mine = agentUserUrl('http://clowder.internal:9000', '57adcb81c0a7465986583df1');

  it("recognises the original pipeline's record written with the public host", () => {
    expect(alreadyAttached([rec('https://terraref.ncsa.illinois.edu/clowder/api/users/57adcb81c0a7465986583df1')], mine)).toBe(true);
  });

  it("does not take another user's record for ours", () => {
    expect(alreadyAttached([rec('https://terraref.ncsa.illinois.edu/clowder/api/users/57adcb81c0a7465986583df2')], mine)).toBe(false);
    expect(alreadyAttached([], mine)).toBe(false);
  });
});
