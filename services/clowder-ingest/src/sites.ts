import { type Site } from '@terra-transfer/sites';
import type { SiteSettings } from './config.js';

/** The ingest's view of the site file: per site, where its files arrive and where they go in Clowder. */
export function ingestSites(sites: readonly Site[]): Record<string, SiteSettings> {
  return Object.fromEntries(sites.map((s) => {
    const dest = s.destinations.find((d) => d.name === s.clowder.destination)!;
    const space = s.clowder.space;
    return [s.name, {
      destinationRoot: dest.root,
      clowderRoot: s.clowder.collectionRoot,
      ...(s.clowder.localRoot ? { localRoot: s.clowder.localRoot } : {}),
      space: 'id' in space ? space.id : space.name,
      ...('id' in space ? { spaceId: space.id } : {}),
      skipDatasets: [...s.clowder.skipDatasets],
      skipPathContains: [...s.exclude],
      metadataAsFile: s.clowder.metadataAsFile,
      ...(s.clowder.metadataFirst ? { metadataFirst: true } : {}),
      ...(s.clowder.collections === 'experiment' ? { collections: 'experiment' as const } : {}),
      ...(Object.keys(s.clowder.fixedMetadata).length > 0 ? { fixedMetadata: s.clowder.fixedMetadata } : {}),
    } satisfies SiteSettings];
  }));
}
