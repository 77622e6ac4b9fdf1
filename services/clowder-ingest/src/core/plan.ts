import { collectionChain, isHidden, joinPath, relativeTo, sensorInfo } from '@terra-transfer/site-layout';
import type { SiteSettings } from '../config.js';

/** Everything the ingest needs to know about one transferred file, derived from its path alone. */
interface FilePlan {
  site: string;
  spaceName: string;
  /** Set when the site file names the space by id. */
  spaceId?: string;
  /** Path relative to the site root. */
  rel: string;
  /** The path Clowder registers (clowderRoot + rel). */
  clowderPath: string;
  /** Where this worker reads the file (localRoot, else destinationRoot, + rel). */
  localPath: string;
  filename: string;
  sensor: string;
  datasetName: string;
  /** Collection names, root first: sensor → year → month → day (day only for timestamp datasets). */
  chain: string[];
  /** A `*metadata.json` file: its content becomes the dataset's metadata (the original's rule). */
  isDatasetMetadata: boolean;
}

export type PlanResult =
  | { kind: 'plan'; plan: FilePlan }
  | { kind: 'skip'; reason: 'hidden' | 'skipped-dataset' | 'skipped-path' }
  | { kind: 'invalid'; code: 'UNKNOWN_SITE' | 'OUTSIDE_SITE_ROOT' | 'PATH_LAYOUT'; message: string };

/**
 * Applies the original uploader's naming rules to a destination path: the
 * parent folder is the timestamp (or the date); with `__` the sensor is 4
 * levels up, otherwise 3; the dataset is `<sensor> - <timestamp|date>`.
 */
export function planFile(sites: Readonly<Record<string, SiteSettings>>, site: string, destinationPath: string): PlanResult {
  const s = sites[site];
  if (!s) return { kind: 'invalid', code: 'UNKNOWN_SITE', message: `site ${site} is not served by this worker (site file, SITES)` };
  const rel = relativeTo(s.destinationRoot, destinationPath);
  if (rel === null) return { kind: 'invalid', code: 'OUTSIDE_SITE_ROOT', message: `${destinationPath} is not under ${s.destinationRoot}` };
  if (isHidden(rel)) return { kind: 'skip', reason: 'hidden' };
  if (s.skipPathContains?.some((frag) => rel.includes(frag))) return { kind: 'skip', reason: 'skipped-path' };
  const info = sensorInfo(rel);
  if (!info) return { kind: 'invalid', code: 'PATH_LAYOUT', message: `${rel} is not <sensor>/<date>/[<timestamp>/]<file>` };
  if (s.skipDatasets?.includes(info.datasetName)) return { kind: 'skip', reason: 'skipped-dataset' };
  const filename = rel.slice(rel.lastIndexOf('/') + 1);
  return {
    kind: 'plan',
    plan: {
      site,
      spaceName: s.space,
      ...(s.spaceId ? { spaceId: s.spaceId } : {}),
      rel,
      clowderPath: joinPath(s.clowderRoot, rel),
      localPath: joinPath(s.localRoot ?? s.destinationRoot, rel),
      filename,
      sensor: info.sensor,
      datasetName: info.datasetName,
      chain: collectionChain(info),
      isDatasetMetadata: filename.includes('metadata.json'),
    },
  };
}

/** Longest experiment collection name taken from a metadata.json (a longer one is cut, not refused). */
const EXPERIMENT_NAME_MAX = 200;

/**
 * The experiment a dataset belongs to, from its metadata.json (an `experiment`
 * site, decision 0010): the `experiment` field (the LemnaTec measurement
 * label, free text) or, when that is absent or blank, `database` (the
 * instrument's experiment database). Whitespace runs become one space. null:
 * neither is there, so the dataset keeps TERRA's sensor/date chain.
 */
export function experimentOf(content: unknown): string | null {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) return null;
  const o = content as Record<string, unknown>;
  for (const key of ['experiment', 'database']) {
    const v = o[key];
    if (typeof v !== 'string') continue;
    const name = v.replace(/\s+/g, ' ').trim().slice(0, EXPERIMENT_NAME_MAX);
    if (name !== '') return name;
  }
  return null;
}
