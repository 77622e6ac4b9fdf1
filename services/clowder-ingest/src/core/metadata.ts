import type { MetadataRecord } from '@terra-transfer/clowder';

/** The original uploader's dataset metadata body: JSON-LD with a user agent. */
export function datasetMetadataBody(content: unknown, agentUserUrl: string, vocab: string) {
  return {
    '@context': ['https://clowder.ncsa.illinois.edu/contexts/metadata.jsonld', { '@vocab': vocab }],
    content,
    agent: { '@type': 'cat:user', user_id: agentUserUrl },
  };
}

/** TERRA's de-duplication: metadata is already attached when a record from the same agent user_id exists. */
export function alreadyAttached(records: readonly MetadataRecord[], agentUserUrl: string): boolean {
  return records.some((r) => r.agent?.user_id === agentUserUrl);
}

export function agentUserUrl(clowderUrl: string, userId: string): string {
  return `${clowderUrl.replace(/\/+$/, '')}/api/users/${userId}`;
}
