import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringifySites } from '@terra-transfer/sites';
import { WHITELIST } from './gantry.js';
import { CLOWDER_SITE_ROOT, DEST_SITE_ROOT, SITE } from './local.js';
import { LOCAL, layout } from './stack.js';

/** The demo's directory sites: a drone's flight folders and a sequencer's run folders. */
export const DRONE_SITE = 'ksu-drone';
export const SEQUENCER_SITE = 'hudsonalpha';
/** The demo's lemnatec site: a test Scanalyzer standing for the Danforth Center's. */
export const DANFORTH_SITE = 'danforth';

/** A directory site's folder in the demo's work dir. */
export const instrumentRoot = (workDir: string, site: string) => join(workDir, 'instruments', site);

/**
 * A directory site for the local stack: its own folder (`instrumentRoot`),
 * its own Globus source endpoint, destination endpoint and root (`/<name>`
 * on the HPC folder) and Clowder space, and deletion `never` (an instrument's
 * folder is read-only to us: its files stay, and the cleaner only records
 * their arrival). Ids are made up for the simulator (one per site, stable).
 */
export function directorySite(workDir: string, o: { name: string; index: number; whitelist: string[]; markers?: string[]; settleSeconds?: number }): Record<string, unknown> {
  const id = (kind: string) => `${kind}-0000-4000-8000-${(0x5170 + o.index).toString(16).padStart(12, '0')}`;
  const destRoot = layout(workDir).destRoot;
  return {
    name: o.name,
    source: {
      kind: 'directory',
      root: instrumentRoot(workDir, o.name),
      settleSeconds: o.settleSeconds ?? 2,
      ...(o.markers ? { completionMarkers: { names: o.markers, folder: 'own' } } : {}),
    },
    whitelist: o.whitelist,
    pathRules: 'identity',
    globus: { sourceEndpoint: id('eeeeeeee'), sourceRoot: '/' },
    destinations: [{ name: 'hpc', endpoint: id('ffffffff'), root: `/${o.name}`, batch: { maxFiles: 200, maxAgeSeconds: 2 } }],
    clowder: { space: { name: o.name }, collectionRoot: `/home/clowder/sites/${o.name}`, localRoot: join(destRoot, o.name), skipDatasets: [], metadataAsFile: true },
    deletion: { policy: 'never' },
  };
}

/** The environment variable holding a lemnatec site's LTSystem URL in the local stack (passed per process with `env`). */
export const LEMNATEC_DB_URL_ENV = 'LEMNATEC_DB_URL';

/**
 * A Danforth-like lemnatec site: a (test) Scanalyzer's databases and blobs,
 * a staging folder the site owns (its Globus source endpoint), metadata first.
 */
export function lemnatecSite(workDir: string, o: { name: string; index: number; blobRoot: string; experiments?: string[] }): Record<string, unknown> {
  const id = (kind: string) => `${kind}-0000-4000-8000-${(0x5170 + o.index).toString(16).padStart(12, '0')}`;
  const destRoot = layout(workDir).destRoot;
  return {
    name: o.name,
    source: {
      kind: 'lemnatec',
      database: { urlEnv: LEMNATEC_DB_URL_ENV },
      blobRoot: o.blobRoot,
      stagingRoot: join(workDir, 'staging', o.name),
      ...(o.experiments ? { experiments: o.experiments } : {}),
      experimentMetadata: { title: 'Bellwether 2026', author: 'Danforth Center', sample: { barcode: { species: { Fp: 'Sorghum bicolor' }, genotypes: { Fp001: 'BTx642' }, treatments: { AB: '80%: 173.6 ml water (37.5% VWC)' } } } },
    },
    whitelist: ['ddpscIndoorSuite'],
    pathRules: 'identity',
    globus: { sourceEndpoint: id('eeeeeeee'), sourceRoot: '/' },
    destinations: [{ name: 'hpc', endpoint: id('ffffffff'), root: `/${o.name}`, batch: { maxFiles: 500, maxAgeSeconds: 1 } }],
    clowder: { space: { name: o.name }, collectionRoot: `/home/clowder/sites/${o.name}`, localRoot: join(destRoot, o.name), skipDatasets: [], metadataAsFile: true, metadataFirst: true },
    deletion: { policy: 'never' },
  };
}

/**
 * The demo's four sites: the Maricopa gantry (xferlog, its FTP cache,
 * deleted after a verified transfer), a drone site standing for Kansas State
 * (flight folders, files taken once settled) and a sequencer site standing
 * for HudsonAlpha (run folders taken when their RTAComplete.txt arrives) and
 * a lemnatec site standing for the Danforth Center (a test Scanalyzer's
 * snapshots, exported to its staging area, metadata first).
 */
export function demoSites(workDir: string): Array<Record<string, unknown>> {
  const l = layout(workDir);
  return [
    {
      name: SITE,
      source: { kind: 'xferlog', xferlog: join(l.logDir, 'xferlog'), cacheRoot: l.cacheRoot, ftpRoot: '/gantry_data' },
      whitelist: [...WHITELIST],
      globus: { sourceEndpoint: LOCAL.sourceEndpoint, sourceRoot: '/' },
      destinations: [{ name: 'hpc', endpoint: LOCAL.destinationEndpoint, root: DEST_SITE_ROOT, batch: { maxFiles: 500, maxAgeSeconds: 2 } }],
      // Every site of the demo registers metadata.json as a file too, so its checks count every upload in Clowder.
      clowder: { space: { name: SITE }, collectionRoot: CLOWDER_SITE_ROOT, localRoot: join(l.destRoot, SITE), skipDatasets: [], metadataAsFile: true },
      deletion: { policy: 'delete-after-verified-transfer' },
    },
    directorySite(workDir, { name: DRONE_SITE, index: 1, whitelist: ['drone'] }),
    directorySite(workDir, { name: SEQUENCER_SITE, index: 2, whitelist: ['NovaSeq'], markers: ['RTAComplete.txt'] }),
    // Index 4: 3 is the fourth site the demo test adds.
    lemnatecSite(workDir, { name: DANFORTH_SITE, index: 4, blobRoot: join(instrumentRoot(workDir, DANFORTH_SITE), 'blobs') }),
  ];
}

/** Writes sites as the demo's site file (<workDir>/sites.yaml) and returns its path. */
export function writeSitesFile(workDir: string, sites: readonly unknown[]): string {
  mkdirSync(workDir, { recursive: true });
  const file = join(workDir, 'sites.yaml');
  writeFileSync(file, stringifySites(sites));
  return file;
}
