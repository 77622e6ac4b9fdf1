import { readFileSync } from 'node:fs';
import { ConfigError } from '@terra-transfer/platform';
import { EXAMPLES } from './examples.js';
import { parseSites, selectSites, SiteFileError } from './load.js';
import { renderSitesDoc } from './render-docs.js';

const site = (name: string, root: string, extra = '') => `
  - name: ${name}
    source: { kind: xferlog, xferlog: ${root}.log, cacheRoot: ${root} }
    whitelist: [MovingSensor/stereoTop]
    globus: { sourceEndpoint: src-${name} }
    destinations:
      - { name: hpc, endpoint: dst-${name}, root: /sites/${name} }
    clowder: { space: { name: ${name} }, collectionRoot: /home/clowder/sites/${name} }
    deletion: { policy: delete-after-verified-transfer }${extra}`;

const problems = (text: string): string[] => {
  try {
    parseSites(text, 'sites.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(SiteFileError);
    expect(err).toBeInstanceOf(ConfigError); // runMain: exit 78
    return (err as SiteFileError).siteProblems.map((p) => `${p.path}: ${p.problem}${p.line ? ` @${p.line}` : ''}`);
  }
  throw new Error('accepted');
};

describe('the site file', () => {
  it('loads a valid multi-site file, with defaults filled in, frozen', () => {
    const s = parseSites(`version: 1\nsites:${site('ua-mac', '/cache/a')}${site('danforth', '/cache/b')}`);
    expect(s.names()).toEqual(['ua-mac', 'danforth']);
    const a = s.get('ua-mac');
    expect(a.source).toMatchObject({ kind: 'xferlog', cacheRoot: '/cache/a', ftpRoot: '/', timezone: 'UTC', ftpUserRoots: {} });
    expect(a.destinations[0]!.batch).toEqual({ maxFiles: 500, maxBytes: 500 * 1024 ** 3, maxAgeSeconds: 10 });
    expect(a.deletion).toEqual({ policy: 'delete-after-verified-transfer', sweep: { minAgeMinutes: 2880, intervalMinutes: 1440 } });
    expect(a.clowder).toMatchObject({ destination: 'hpc', datasetNaming: 'terraref', space: { name: 'ua-mac' }, metadataAsFile: false });
    expect(Object.isFrozen(a.destinations[0])).toBe(true);
    expect(() => s.get('nope')).toThrow(ConfigError);
  });

  it.each(Object.entries(EXAMPLES))('the %s example in docs/sites.md loads', (kind, text) => {
    expect(parseSites(text).sites[0]!.source.kind).toBe(kind);
  });

  it('refuses an unknown source kind, naming its path and line', () => {
    expect(problems(`version: 1\nsites:${site('a', '/c/a')}${site('b', '/c/b').replace('kind: xferlog', 'kind: ftp')}`)).toEqual([
      'sites[1].source.kind: unknown source kind "ftp" (one of xferlog, directory, lemnatec) @12',
    ]);
  });

  it('clowder.fixedMetadata: sensor → Clowder dataset id, checked; absent: empty', () => {
    const withIds = (ids: string) => `version: 1\nsites:${site('a', '/c/a').replace('collectionRoot: /home/clowder/sites/a }', `collectionRoot: /home/clowder/sites/a, fixedMetadata: ${ids} }`)}`;
    expect(parseSites(withIds('{ stereoTop: 5873a8ae4f0cad7d8131ac0e, scanalyzer: 5873eac64f0cad7d81349b0b }')).get('a').clowder.fixedMetadata)
      .toEqual({ stereoTop: '5873a8ae4f0cad7d8131ac0e', scanalyzer: '5873eac64f0cad7d81349b0b' });
    expect(parseSites(`version: 1\nsites:${site('a', '/c/a')}`).get('a').clowder.fixedMetadata).toEqual({});
    const p = problems(withIds('{ stereoTop: TBD }'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^sites\[0\]\.clowder\.fixedMetadata\.stereoTop: /);
  });

  it('refuses a duplicate site name', () => {
    expect(problems(`version: 1\nsites:${site('a', '/c/a')}${site('a', '/c/b')}`)).toEqual(['sites[1].name: duplicate site name "a" (also sites[0]) @11']);
  });

  it('refuses a whitelist entry that is not a relative folder', () => {
    const p = problems(`version: 1\nsites:${site('a', '/c/a').replace('[MovingSensor/stereoTop]', '[/etc, ../up, "x/*", ok/dir]')}`);
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/^sites\[0\]\.whitelist\[0\]: must be a folder relative to the source root/);
    expect(p[1]).toMatch(/^sites\[0\]\.whitelist\[1\]: must be a folder/);
    expect(p[2]).toMatch(/^sites\[0\]\.whitelist\[2\]: must be a folder/);
  });

  it('refuses a destination missing its endpoint', () => {
    expect(problems(`version: 1\nsites:${site('a', '/c/a')}${site('b', '/c/b').replace('endpoint: dst-b, ', '')}`)).toEqual(['sites[1].destinations[0].endpoint: required @16']);
  });

  it('refuses two sites sharing (or nesting) one cache root', () => {
    expect(problems(`version: 1\nsites:${site('a', '/c/a')}${site('b', '/c/a')}`)).toEqual([
      'sites[1].source.cacheRoot: /c/a overlaps sites[0].source.cacheRoot (/c/a): two sites cannot share one cache root @12',
    ]);
    expect(problems(`version: 1\nsites:${site('a', '/c')}${site('b', '/c/b')}`)[0]).toMatch(/^sites\[1\]\.source\.cacheRoot: \/c\/b overlaps sites\[0\]/);
  });

  it('names every problem at once, in the chosen branch', () => {
    const p = problems(`version: 1\nsites:${site('Bad_Name', 'rel')}`.replace('deletion: { policy: delete-after-verified-transfer }', 'deletion: { policy: keep }'));
    expect(p).toEqual([
      expect.stringMatching(/^sites\[0\]\.name: must match/),
      'sites[0].source.xferlog: must be an absolute path, got "rel.log" @4',
      'sites[0].source.cacheRoot: must be an absolute path, got "rel" @4',
      'sites[0].deletion.policy: unknown deletion policy "keep" (one of delete-after-verified-transfer, never) @10',
    ]);
  });

  it('checks directory and lemnatec settings, and a secret is never in the file', () => {
    expect(problems(EXAMPLES.directory.replace('folder: run', 'folder: parent'))[0]).toMatch(/^sites\[0\]\.source\.completionMarkers\.folder: /);
    expect(problems(EXAMPLES.lemnatec.replace('{ urlEnv: DANFORTH_LEMNATEC_DB_URL }', '{ url: "postgres://u:pw@h/db" }'))).toEqual([
      'sites[0].source.database.urlEnv: required @6',
      'sites[0].source.database.url: unknown setting @6',
    ]);
  });

  it('reports YAML syntax errors and unknown settings', () => {
    expect(problems('version: 1\nsites: [\n')[0]).toMatch(/^\(file\)|^: YAML/);
    expect(problems(`version: 1\nsites:${site('a', '/c/a')}\n    colour: blue`)).toEqual(['sites[0].colour: unknown setting @11']);
  });

  it('selects the sites a service serves', () => {
    const s = parseSites(`version: 1\nsites:${site('a', '/c/a')}${site('b', '/c/b')}`);
    expect(selectSites(s, undefined, () => true, 'any').map((x) => x.name)).toEqual(['a', 'b']);
    expect(selectSites(s, ['b'], () => true, 'any').map((x) => x.name)).toEqual(['b']);
    expect(() => selectSites(s, ['c'], () => true, 'any')).toThrow(/SITES names "c", which is not in the site file/);
    expect(() => selectSites(s, undefined, (x) => x.source.kind === 'directory', 'a directory site')).toThrow(/has no site that is a directory site/);
  });

  it('docs/sites.md is the rendering of the schema', () => {
    expect(readFileSync(new URL('../../../docs/sites.md', import.meta.url), 'utf8')).toBe(renderSitesDoc());
  });
});
