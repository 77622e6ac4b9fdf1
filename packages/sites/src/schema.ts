/**
 * The site file's schema: one TypeBox schema per part, so validation, the
 * types and the generated reference (docs/sites.md) come from one place.
 * Unions (source kinds, deletion policies, Clowder space) are discriminated
 * by one field and validated branch by branch in load.ts, so an error names
 * the field of the branch the file chose, not "no union member matched".
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Safe in a routing key, a Redis key, a metric label and a path component. */
export const SITE_NAME = '^[a-z][a-z0-9-]{0,31}$';
const ABS_PATH = '^/';
/** A folder relative to the source root: no leading slash, no `.`/`..`/empty components, no wildcard. */
export const REL_FOLDER = '^(?!/)(?!.*(^|/)\\.{1,2}(/|$))(?!.*//)[^*?\\[\\]]+$';

const absPath = (description: string) => Type.String({ pattern: ABS_PATH, minLength: 1, description });
const secs = (description: string, dflt: number, min = 0) => Type.Optional(Type.Integer({ minimum: min, default: dflt, description }));

export const XferlogSource = Type.Object({
  kind: Type.Literal('xferlog', { description: 'Uploads to an FTP server, followed in its xferlog (log-tailer)' }),
  xferlog: absPath("The FTP server's xferlog (current file; rotated ones sit beside it)"),
  rotatedSuffix: Type.Optional(Type.String({ minLength: 1, description: 'Regex for the name suffix of rotated logs, with a named group n (xferlog.N) or date (xferlog-YYYYMMDD); .gz allowed. Default: both forms' })),
  timezone: Type.Optional(Type.String({ minLength: 1, default: 'UTC', description: "Time zone of the log's timestamps (they carry none): UTC or an IANA name" })),
  cacheRoot: absPath('Where the FTP server stores uploads (the files events point to); this site owns it'),
  ftpRoot: Type.Optional(Type.String({ minLength: 1, default: '/', description: 'Prefix of logged paths that stands for cacheRoot (vsftpd logs chroot-relative paths: "/")' })),
  ftpUserRoots: Type.Optional(Type.Record(Type.String(), Type.String({ pattern: REL_FOLDER }), { default: {}, description: "Per-user sub-folder of cacheRoot that the user's FTP root maps to, e.g. {lemnatec: LemnaTec}" })),
}, { additionalProperties: false });

export const DirectorySource = Type.Object({
  kind: Type.Literal('directory', { description: 'Files written into a folder (an instrument\'s output share), found by inotify or polling' }),
  root: absPath('The folder watched; this site owns it'),
  settleSeconds: secs('A file is taken once two looks at least this far apart saw the same size and mtime', 60),
  completionMarkers: Type.Optional(Type.Object({
    names: Type.Array(Type.String({ minLength: 1, pattern: '^[^/]+$' }), { minItems: 1, description: 'File names whose presence marks a folder complete, e.g. RTAComplete.txt, CopyComplete.txt' }),
    folder: Type.Union([Type.Literal('run'), Type.Literal('own')], { default: 'run', description: 'Which folder a marker completes: `run` = the run folder it sits in directly, the first level below a whitelisted folder (whitelist `NovaSeq`: `NovaSeq/<run>/RTAComplete.txt` completes `NovaSeq/<run>` and everything under it); `own` = the files of the folder the marker is in. The marker is sent too, with the rest' }),
  }, { additionalProperties: false, description: 'Absent: every settled file is taken on its own. Present: a file is taken only once its folder holds a marker (a version that replaces one already sent still settles first)' })),
  poll: Type.Optional(Type.Boolean({ default: false, description: 'Poll the folders instead of inotify (network mounts deliver no events); full scans run either way (FULL_SCAN_INTERVAL_SECONDS)' })),
  pollIntervalSeconds: secs('Interval between two polls of every folder (poll: true)', 30, 1),
}, { additionalProperties: false });

export const LemnatecSource = Type.Object({
  kind: Type.Literal('lemnatec', { description: "A LemnaTec Scanalyzer's database and blob store (Danforth), polled by lemnatec-source; read only" }),
  database: Type.Object({
    urlEnv: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', description: "Name of the environment variable holding the URL of the instrument's system database (LTSystem); experiment databases are reached on the same server. The secret never sits in this file" }),
  }, { additionalProperties: false }),
  blobRoot: absPath('Root of the image blobs the database points to (<blobRoot>/<database>/<YYYY-MM-DD>/blob<oid>); read only, never written or deleted'),
  stagingRoot: absPath('Where the source writes the exported files (metadata.json, PNGs) for the pipeline to send: the Globus source endpoint stands for it; this site owns it and the source cleans it'),
  experiments: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Experiment databases taken; absent = every database of LTSystem.ltdbs that is not removed (re-read while running)' })),
  sensor: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$', default: 'ddpscIndoorSuite', description: 'Sensor name: the first folder of the staged files and of the dataset names (`<sensor> - YYYY-MM-DD__hh-mm-ss-mmm`)' })),
  experimentMetadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Experiment metadata (title, author, project, …) put in every snapshot\'s metadata.json; `sample.barcode.{species,genotypes,treatments}` decode barcodes' })),
  columns: Type.Optional(Type.Record(Type.String({ pattern: '^(snapshot|tiled_image|tile)\\.[a-z_]+$' }), Type.String({ pattern: '^[a-z_][a-z0-9_]*$' }), { default: {}, description: 'Column names of this LemnaTec release that differ from the reference ones, e.g. {"snapshot.water_amount": water_amount_g}' })),
}, { additionalProperties: false });

export const SOURCE_KINDS = { xferlog: XferlogSource, directory: DirectorySource, lemnatec: LemnatecSource } as const;
export type SourceKind = keyof typeof SOURCE_KINDS;
export const Source = Type.Union([XferlogSource, DirectorySource, LemnatecSource], { description: 'Where the files come from, by `kind`' });

export const BatchLimits = Type.Object({
  maxFiles: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 500, description: 'Files per Globus task at most' })),
  maxBytes: Type.Optional(Type.Number({ minimum: 1, default: 500 * 1024 ** 3, description: 'Bytes per Globus task at most' })),
  maxAgeSeconds: Type.Optional(Type.Number({ minimum: 0.01, default: 10, description: 'A batch is sent when its oldest file has waited this long' })),
}, { additionalProperties: false });

export const Destination = Type.Object({
  name: Type.String({ pattern: SITE_NAME, description: 'Short name, used in task labels and metrics' }),
  endpoint: Type.String({ minLength: 1, description: 'Globus collection id of the destination' }),
  root: absPath("Root of the site's data on that collection"),
  include: Type.Optional(Type.Array(Type.String({ pattern: REL_FOLDER }), { description: 'Folders this destination takes; absent = every file (the first destination that takes a file gets it)' })),
  batch: Type.Optional(BatchLimits),
}, { additionalProperties: false });

export const Globus = Type.Object({
  sourceEndpoint: Type.String({ minLength: 1, description: 'Globus collection id of the source (the cache)' }),
  sourceRoot: Type.Optional(Type.String({ pattern: ABS_PATH, default: '/', description: 'The source root as that collection sees it' })),
}, { additionalProperties: false });

export const ClowderSpace = Type.Union([
  Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{24}$', description: 'Space id (production: the space an admin made)' }) }, { additionalProperties: false }),
  Type.Object({ name: Type.String({ minLength: 1, description: 'Space found or created by name (local stack, tests)' }) }, { additionalProperties: false }),
], { description: 'The Clowder space, by id (or by name where the ingest may create it)' });

export const Clowder = Type.Object({
  space: ClowderSpace,
  collectionRoot: absPath("The destination tree as Clowder sees it (its filesystem.sourcepaths must cover it): TERRA's mounted_paths rewrite"),
  destination: Type.Optional(Type.String({ pattern: SITE_NAME, description: 'Which destination Clowder registers from; default: the first' })),
  localRoot: Type.Optional(absPath('Where the ingest reads the destination tree (metadata.json), when not at the destination root')),
  datasetNaming: Type.Optional(Type.Literal('terraref', { default: 'terraref', description: 'Dataset naming rule: `<sensor> - <timestamp|date>` (the collection holding it: `collections`)' })),
  skipDatasets: Type.Optional(Type.Array(Type.String(), { default: [], description: 'Dataset names never registered' })),
  metadataAsFile: Type.Optional(Type.Boolean({ default: false, description: "A dataset's `*metadata.json` is also registered as a file of the dataset, besides being attached as its metadata (TERRA's pipeline attached it only)" })),
  metadataFirst: Type.Optional(Type.Boolean({ default: false, description: "A dataset's `metadata.json` (beside its files) is attached before any other file of the dataset is registered; a file whose metadata has not arrived yet waits (lemnatec sites)" })),
  collections: Type.Optional(Type.Union([Type.Literal('sensor-date'), Type.Literal('experiment')], {
    description: "Which collection a dataset goes in: `sensor-date` = TERRA's sensor → year → month → day collections; `experiment` = its experiment's collection, named by the dataset's metadata.json (`experiment`, the LemnaTec measurement label, else `database`), as Danforth's uploader put a run's snapshots in one collection. Default: `experiment` for lemnatec sites, `sensor-date` for the others",
  })),
  fixedMetadata: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), Type.String({ pattern: '^[0-9a-f]{24}$' }), {
    default: {},
    description: "Per sensor (and `scanalyzer` for the gantry), the Clowder dataset whose first metadata record is the sensor's fixed metadata, as TERRA kept it, e.g. {stereoTop: 5873a8ae4f0cad7d8131ac0e}: gantry metadata links to it and its field of view places the image (spatial_metadata). A sensor not named: its records are attached without those parts",
  })),
}, { additionalProperties: false });

export const Sweep = Type.Object({
  minAgeMinutes: secs('The sweep sends files older than this that were never sent (2 days)', 2880, 1),
  intervalMinutes: secs('Minutes between scheduled sweeps; 0 = no interval schedule', 1440),
  dailyAt: Type.Optional(Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'Sweep daily at this UTC time (HH:MM) instead of by interval' })),
}, { additionalProperties: false });

export const DeleteAfterTransfer = Type.Object({
  policy: Type.Literal('delete-after-verified-transfer', { description: 'An FTP cache: files are deleted once their transfer is verified, and swept up when never sent' }),
  sweep: Type.Optional(Sweep),
}, { additionalProperties: false });
export const NeverDelete = Type.Object({
  policy: Type.Literal('never', { description: "A read-only source (an instrument's database): nothing is deleted, nothing swept" }),
}, { additionalProperties: false });
export const DELETION_POLICIES = { 'delete-after-verified-transfer': DeleteAfterTransfer, never: NeverDelete } as const;
export const Deletion = Type.Union([DeleteAfterTransfer, NeverDelete], { description: 'What happens to a source file after its transfer, by `policy`' });

/** Site fields other than the discriminated unions, validated first. */
export const SiteBase = Type.Object({
  name: Type.String({ pattern: SITE_NAME, description: 'Used in routing keys, Redis keys, metric labels, destination and Clowder paths' }),
  source: Source,
  whitelist: Type.Array(Type.String({ pattern: REL_FOLDER }), { description: 'Folders (relative to the source root) whose files are sent; whole components. Empty = nothing' }),
  exclude: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Path fragments never sent nor registered (e.g. @Recycle)' })),
  pathRules: Type.Optional(Type.Union([Type.Literal('terraref'), Type.Literal('identity')], { default: 'terraref', description: 'Source → destination path rewrite: the original TERRA-REF rules, or the same relative path' })),
  globus: Globus,
  destinations: Type.Array(Destination, { minItems: 1 }),
  clowder: Clowder,
  deletion: Deletion,
}, { additionalProperties: false });

export const SiteFile = Type.Object({
  version: Type.Literal(1, { description: 'Format version of this file' }),
  sites: Type.Array(SiteBase, { minItems: 1 }),
}, { additionalProperties: false });

export type XferlogSourceT = Static<typeof XferlogSource>;
export type DirectorySourceT = Static<typeof DirectorySource>;
export type LemnatecSourceT = Static<typeof LemnatecSource>;
export type DestinationT = Static<typeof Destination>;

/** A site as services see it: every default filled in. */
export interface Site {
  readonly name: string;
  readonly source:
    | Readonly<Required<Omit<XferlogSourceT, 'rotatedSuffix'>> & { rotatedSuffix?: string }>
    | Readonly<Required<Omit<DirectorySourceT, 'completionMarkers'>> & { completionMarkers?: { names: string[]; folder: 'run' | 'own' } }>
    | Readonly<Required<Omit<LemnatecSourceT, 'experiments'>> & { experiments?: string[] }>;
  readonly whitelist: readonly string[];
  readonly exclude: readonly string[];
  readonly pathRules: 'terraref' | 'identity';
  readonly globus: { readonly sourceEndpoint: string; readonly sourceRoot: string };
  readonly destinations: ReadonlyArray<{
    readonly name: string; readonly endpoint: string; readonly root: string; readonly include?: readonly string[];
    readonly batch: { readonly maxFiles: number; readonly maxBytes: number; readonly maxAgeSeconds: number };
  }>;
  readonly clowder: {
    readonly space: { readonly id: string } | { readonly name: string };
    readonly collectionRoot: string; readonly destination: string; readonly localRoot?: string;
    readonly datasetNaming: 'terraref'; readonly skipDatasets: readonly string[]; readonly metadataAsFile: boolean; readonly metadataFirst: boolean;
    readonly collections: 'sensor-date' | 'experiment';
    readonly fixedMetadata: Readonly<Record<string, string>>;
  };
  readonly deletion:
    | { readonly policy: 'delete-after-verified-transfer'; readonly sweep: { readonly minAgeMinutes: number; readonly intervalMinutes: number; readonly dailyAt?: string } }
    | { readonly policy: 'never' };
}

export interface Sites {
  readonly sites: readonly Site[];
  /** The site by name; throws when there is none (a caller checks names from outside with `has`). */
  get(name: string): Site;
  has(name: string): boolean;
  names(): string[];
}

export type { TSchema };
