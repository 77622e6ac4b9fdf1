import { stringify } from 'yaml';

/** A site file's text from plain objects (the local stack, tests): the loader checks it like any other. */
export function stringifySites(sites: readonly unknown[]): string {
  return stringify({ version: 1, sites });
}

/** One site of the usual test shape (an xferlog cache sent to one destination), with overrides. */
export function testSite(o: { name?: string; cacheRoot: string; xferlog?: string; whitelist?: string[]; sourceEndpoint?: string; destinationEndpoint?: string; destinationRoot?: string; batch?: Record<string, number>; clowderRoot?: string; localRoot?: string; sweep?: Record<string, unknown>; ftpRoot?: string }): Record<string, unknown> {
  const name = o.name ?? 'ua-mac';
  return {
    name,
    source: { kind: 'xferlog', xferlog: o.xferlog ?? `${o.cacheRoot}.xferlog`, cacheRoot: o.cacheRoot, ...(o.ftpRoot ? { ftpRoot: o.ftpRoot } : {}) },
    whitelist: o.whitelist ?? ['MovingSensor/stereoTop'],
    globus: { sourceEndpoint: o.sourceEndpoint ?? 'src', sourceRoot: '/' },
    destinations: [{ name: 'hpc', endpoint: o.destinationEndpoint ?? 'dst', root: o.destinationRoot ?? `/${name}`, ...(o.batch ? { batch: o.batch } : {}) }],
    clowder: { space: { name }, collectionRoot: o.clowderRoot ?? `/home/clowder/sites/${name}`, ...(o.localRoot ? { localRoot: o.localRoot } : {}), metadataAsFile: true },
    deletion: { policy: 'delete-after-verified-transfer', ...(o.sweep ? { sweep: o.sweep } : {}) },
  };
}
