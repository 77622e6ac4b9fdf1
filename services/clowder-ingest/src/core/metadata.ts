import type { MetadataRecord } from '@terra-transfer/clowder';

/** The original uploader's dataset metadata body: JSON-LD with a user agent. */
export function datasetMetadataBody(content: unknown, agentUserUrl: string, vocab: string) {
  return {
    '@context': ['https://clowder.ncsa.illinois.edu/contexts/metadata.jsonld', { '@vocab': vocab }],
    content,
    agent: { '@type': 'cat:user', user_id: agentUserUrl },
  };
}

/** Gantry metadata: `lemnatec_measurement_metadata` at the top (what terrautils' clean_metadata converted). */
export function isGantryMetadata(content: unknown): content is Record<string, unknown> {
  return isObject(content) && 'lemnatec_measurement_metadata' in content;
}

/**
 * The generic part of terrautils' `clean_metadata`: `clean_json_keys`
 * (dots in keys become `_`, recursively through objects; arrays are left as
 * they are, as the Python did — Clowder/Mongo rejects dotted keys) and the
 * `terraref_cleaned_metadata: true` flag, unless already there — applied, as
 * there, only to gantry metadata; anything else (Danforth's snapshot
 * metadata, other sites) is returned as it is. The LemnaTec conversion
 * (lemnatec-clean.ts) starts from this; when it cannot be built, this is
 * what is attached (adapters/metadata-conversion.ts).
 */
export function cleanMetadata(content: unknown): unknown {
  if (!isGantryMetadata(content)) return content;
  const cleaned = cleanKeys(content);
  if (!('terraref_cleaned_metadata' in cleaned)) cleaned['terraref_cleaned_metadata'] = true;
  return cleaned;
}

function cleanKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k.replaceAll('.', '_')] = isObject(v) ? cleanKeys(v) : v;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * TERRA's de-duplication: metadata is already attached when a record from the
 * same agent user exists. Compared by the user id (`…/api/users/<id>`), not
 * the whole URL: the original pipeline wrote the public host
 * (https://terraref.ncsa.illinois.edu/clowder/api/users/<id>) while this
 * worker may reach Clowder by an internal address.
 */
export function alreadyAttached(records: readonly MetadataRecord[], agentUserUrl: string): boolean {
  const mine = userIdOf(agentUserUrl);
  return records.some((r) => r.agent?.user_id === agentUserUrl || (mine !== undefined && userIdOf(r.agent?.user_id) === mine));
}

function userIdOf(url: string | undefined): string | undefined {
  return url ? /\/api\/users\/([0-9a-f]{24})$/.exec(url)?.[1] : undefined;
}

export function agentUserUrl(clowderUrl: string, userId: string): string {
  return `${clowderUrl.replace(/\/+$/, '')}/api/users/${userId}`;
}
