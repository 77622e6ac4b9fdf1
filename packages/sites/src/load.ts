import { readFileSync } from 'node:fs';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { ConfigError } from '@terra-transfer/platform';
import { LineCounter, parseDocument } from 'yaml';
import { Clowder, DELETION_POLICIES, SITE_NAME, SOURCE_KINDS, SiteBase, type Site, type Sites } from './schema.js';

/** One problem of a site file: where (YAML path, line) and what. */
export interface SiteProblem {
  path: string;
  line: number | undefined;
  problem: string;
}

/**
 * Every problem of a site file at once, each named by its YAML path
 * (`sites[1].destinations[0].endpoint: required (line 14)`). A ConfigError,
 * so runMain exits 78 before anything started.
 */
export class SiteFileError extends ConfigError {
  constructor(readonly file: string, readonly siteProblems: SiteProblem[]) {
    super(siteProblems.map((p) => ({ key: p.path, problem: p.problem })));
    this.name = 'SiteFileError';
    this.message = `invalid site file ${file}: ${siteProblems.map(format).join('; ')}`;
  }
}

const format = (p: SiteProblem) => `${p.path || '(file)'}: ${p.problem}${p.line !== undefined ? ` (line ${p.line})` : ''}`;

type Seg = string | number;
const showPath = (segs: readonly Seg[]) => segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

// Validation without the discriminated unions: they are checked branch by branch below, so errors name the chosen branch's fields.
const Loose = Type.Object({}, { additionalProperties: true });
const SiteShallow = Type.Object({
  ...SiteBase.properties,
  source: Type.Object({ kind: Type.String() }, { additionalProperties: true }),
  clowder: Type.Object({ ...Clowder.properties, space: Loose }, { additionalProperties: false }),
  deletion: Type.Object({ policy: Type.String() }, { additionalProperties: true }),
}, { additionalProperties: false });
const FileShallow = Type.Object({
  version: Type.Literal(1),
  sites: Type.Array(Loose, { minItems: 1 }),
}, { additionalProperties: false });
const SpaceById = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{24}$' }) }, { additionalProperties: false });
const SpaceByName = Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false });

/** Parses and checks a site file's text; `file` only names it in errors. Returns the frozen sites or throws SiteFileError. */
export function parseSites(text: string, file = 'site file'): Sites {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: SiteProblem[] = [];
  const add = (segs: readonly Seg[], problem: string) => {
    const node = segs.length ? (doc.getIn(segs, true) as { range?: [number, number, number] } | undefined) : undefined;
    // A missing key has no node: point at its parent.
    const at = node?.range ?? (doc.getIn(segs.slice(0, -1), true) as { range?: [number, number, number] } | undefined)?.range;
    problems.push({ path: showPath(segs), line: at ? lines.linePos(at[0]).line : undefined, problem });
  };
  for (const e of doc.errors) problems.push({ path: '', line: e.linePos?.[0]?.line, problem: `YAML: ${e.message.split('\n')[0]}` });
  if (problems.length) throw new SiteFileError(file, problems);

  const raw = doc.toJS() as unknown;
  check(FileShallow, raw, [], add);
  if (problems.length) throw new SiteFileError(file, problems);
  const sites = (raw as { sites: Array<Record<string, unknown>> }).sites;
  sites.forEach((s, i) => checkSite(s, ['sites', i], add));
  if (problems.length) throw new SiteFileError(file, problems);
  crossChecks(sites as unknown as RawSite[], add);
  if (problems.length) throw new SiteFileError(file, problems);
  return freeze(sites.map((s) => normalize(s as unknown as RawSite)));
}

/** Reads, parses and checks the site file at `path` (SITES_FILE). */
export function loadSites(path: string): Sites {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ key: 'SITES_FILE', problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): ${path}` }]);
  }
  return parseSites(text, path);
}

function check(schema: TSchema, value: unknown, at: readonly Seg[], add: (segs: readonly Seg[], problem: string) => void): void {
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const segs = [...at, ...pointer(e.path)];
    const key = showPath(segs);
    // TypeBox reports a failing field once per rule it breaks; the first says it best.
    if (seen.has(key)) continue;
    seen.add(key);
    add(segs, describe(e));
  }
}

const pointer = (p: string): Seg[] => p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));

function describe(e: ValueError): string {
  const s = e.schema as Record<string, unknown>;
  if (e.value === undefined) return 'required';
  if (e.type === ValueErrorType.ObjectAdditionalProperties || e.type === ValueErrorType.IntersectUnevaluatedProperties) return 'unknown setting';
  if (s['pattern'] === SITE_NAME) return `must match ${SITE_NAME} (it goes into routing keys, Redis keys and labels), got ${JSON.stringify(e.value)}`;
  if (typeof s['pattern'] === 'string' && s['pattern'].startsWith('^(?!/)')) return `must be a folder relative to the source root (no leading /, no . or .. or empty components, no wildcards), got ${JSON.stringify(e.value)}`;
  if (s['pattern'] === '^/') return `must be an absolute path, got ${JSON.stringify(e.value)}`;
  return `${e.message.replace(/^Expected/, 'must be')}${typeof e.value !== 'object' ? `, got ${JSON.stringify(e.value)}` : ''}`;
}

function checkSite(s: Record<string, unknown>, at: Seg[], add: (segs: readonly Seg[], problem: string) => void): void {
  check(SiteShallow, s, at, add);
  const source = s['source'] as Record<string, unknown> | undefined;
  const kind = source?.['kind'];
  if (typeof kind === 'string') {
    const schema = SOURCE_KINDS[kind as keyof typeof SOURCE_KINDS];
    if (!schema) add([...at, 'source', 'kind'], `unknown source kind ${JSON.stringify(kind)} (one of ${Object.keys(SOURCE_KINDS).join(', ')})`);
    else check(schema, source, [...at, 'source'], add);
  }
  const deletion = s['deletion'] as Record<string, unknown> | undefined;
  const policy = deletion?.['policy'];
  if (typeof policy === 'string') {
    const schema = DELETION_POLICIES[policy as keyof typeof DELETION_POLICIES];
    if (!schema) add([...at, 'deletion', 'policy'], `unknown deletion policy ${JSON.stringify(policy)} (one of ${Object.keys(DELETION_POLICIES).join(', ')})`);
    else check(schema, deletion, [...at, 'deletion'], add);
  }
  const space = (s['clowder'] as Record<string, unknown> | undefined)?.['space'] as Record<string, unknown> | undefined;
  if (space && typeof space === 'object') {
    if ('id' in space) check(SpaceById, space, [...at, 'clowder', 'space'], add);
    else if ('name' in space) check(SpaceByName, space, [...at, 'clowder', 'space'], add);
    else add([...at, 'clowder', 'space'], 'must name the space by id (or by name)');
  }
}

interface RawSite {
  name: string;
  source: { kind: string; cacheRoot?: string; root?: string; stagingRoot?: string };
  destinations: Array<{ name: string; root: string }>;
  clowder: { destination?: string };
}

/** The folder a site owns (the cleaner deletes under it, the sweep walks it): no two sites may share or nest one.
 * The folder a site's pipeline sends from and owns (a lemnatec site's staging area, never its read-only blob store). */
export function ownedRoot(source: { kind: string; cacheRoot?: string; root?: string; stagingRoot?: string }): { key: string; root: string } {
  if (source.kind === 'xferlog') return { key: 'cacheRoot', root: source.cacheRoot! };
  if (source.kind === 'directory') return { key: 'root', root: source.root! };
  return { key: 'stagingRoot', root: source.stagingRoot! };
}

const nested = (a: string, b: string) => {
  const x = a.replace(/\/+$/, '') || '/';
  const y = b.replace(/\/+$/, '') || '/';
  return x === y || x === '/' || y === '/' || y.startsWith(`${x}/`) || x.startsWith(`${y}/`);
};

function crossChecks(sites: RawSite[], add: (segs: readonly Seg[], problem: string) => void): void {
  const byName = new Map<string, number>();
  sites.forEach((s, i) => {
    const first = byName.get(s.name);
    if (first !== undefined) add(['sites', i, 'name'], `duplicate site name ${JSON.stringify(s.name)} (also sites[${first}])`);
    else byName.set(s.name, i);
    const own = ownedRoot(s.source);
    for (let j = 0; j < i; j++) {
      const other = ownedRoot(sites[j]!.source);
      if (nested(own.root, other.root)) add(['sites', i, 'source', own.key], `${own.root} overlaps sites[${j}].source.${other.key} (${other.root}): two sites cannot share one cache root`);
    }
    const dests = new Map<string, number>();
    s.destinations.forEach((d, k) => {
      if (dests.has(d.name)) add(['sites', i, 'destinations', k, 'name'], `duplicate destination name ${JSON.stringify(d.name)} (also destinations[${dests.get(d.name)}])`);
      else dests.set(d.name, k);
    });
    if (s.clowder.destination !== undefined && !dests.has(s.clowder.destination)) add(['sites', i, 'clowder', 'destination'], `no destination named ${JSON.stringify(s.clowder.destination)} in this site`);
  });
}

function normalize(s: RawSite): Site {
  const r = s as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const kind = r['source'].kind as string;
  const source = Value.Default(SOURCE_KINDS[kind as keyof typeof SOURCE_KINDS], structuredClone(r['source'])) as Site['source'];
  if (source.kind === 'directory' && source.completionMarkers) source.completionMarkers.folder ??= 'run';
  const deletion = r['deletion'].policy === 'never'
    ? { policy: 'never' as const }
    : { policy: 'delete-after-verified-transfer' as const, sweep: Value.Default(DELETION_POLICIES['delete-after-verified-transfer'].properties.sweep, structuredClone(r['deletion'].sweep ?? {})) as { minAgeMinutes: number; intervalMinutes: number; dailyAt?: string } };
  const base = Value.Default(SiteBase, structuredClone({ ...r, source: undefined, deletion: undefined })) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const destinations = (r['destinations'] as Array<Record<string, any>>).map((d) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
    name: d['name'], endpoint: d['endpoint'], root: d['root'].replace(/(.)\/+$/, '$1'), ...(d['include'] ? { include: d['include'] } : {}),
    batch: { maxFiles: d['batch']?.maxFiles ?? 500, maxBytes: d['batch']?.maxBytes ?? 500 * 1024 ** 3, maxAgeSeconds: d['batch']?.maxAgeSeconds ?? 10 },
  }));
  return {
    name: base['name'],
    source,
    whitelist: base['whitelist'],
    exclude: base['exclude'] ?? [],
    pathRules: base['pathRules'] ?? 'terraref',
    globus: { sourceEndpoint: base['globus'].sourceEndpoint, sourceRoot: base['globus'].sourceRoot ?? '/' },
    destinations,
    clowder: {
      space: r['clowder'].space,
      collectionRoot: r['clowder'].collectionRoot,
      destination: r['clowder'].destination ?? destinations[0]!.name,
      ...(r['clowder'].localRoot ? { localRoot: r['clowder'].localRoot } : {}),
      datasetNaming: 'terraref',
      skipDatasets: r['clowder'].skipDatasets ?? [],
      metadataAsFile: r['clowder'].metadataAsFile ?? false,
      metadataFirst: r['clowder'].metadataFirst ?? false,
      collections: r['clowder'].collections ?? (source.kind === 'lemnatec' ? 'experiment' : 'sensor-date'),
      fixedMetadata: r['clowder'].fixedMetadata ?? {},
    },
    deletion,
  };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function freeze(list: Site[]): Sites {
  const sites = deepFreeze(list);
  const byName = new Map(sites.map((s) => [s.name, s]));
  return Object.freeze({
    sites,
    has: (name: string) => byName.has(name),
    get: (name: string) => {
      const s = byName.get(name);
      if (!s) throw new ConfigError([{ key: 'site', problem: `${JSON.stringify(name)} is not in the site file (sites: ${[...byName.keys()].join(', ')})` }]);
      return s;
    },
    names: () => [...byName.keys()],
  });
}

/**
 * The sites a service serves: the names in `selected` (SITES; each must exist
 * and pass `accepts`), or by default every site `accepts` takes. Throws
 * ConfigError naming what is wrong (an unknown name, a site of a kind the
 * service does not handle, nothing to serve).
 */
export function selectSites(all: Sites, selected: readonly string[] | undefined, accepts: (s: Site) => boolean, what: string): Site[] {
  const problems: Array<{ key: string; problem: string }> = [];
  let out: Site[];
  if (selected && selected.length > 0) {
    out = [];
    for (const n of selected) {
      if (!all.has(n)) problems.push({ key: 'SITES', problem: `names ${JSON.stringify(n)}, which is not in the site file (sites: ${all.names().join(', ')})` });
      else if (!accepts(all.get(n))) problems.push({ key: 'SITES', problem: `names ${JSON.stringify(n)}, which is not ${what}` });
      else out.push(all.get(n));
    }
  } else {
    out = all.sites.filter(accepts);
    if (out.length === 0) problems.push({ key: 'SITES_FILE', problem: `has no site that is ${what}` });
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}
