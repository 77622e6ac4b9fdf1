/**
 * The TERRA-REF directory rules, as pure functions. Paths here are relative
 * to a site's data root (the cache root at the site, the site folder at the
 * destination), with `/` separators and no leading slash.
 *
 * Layouts seen in the original system:
 *   LemnaTec/EnvironmentLogger/2016-04-05/2016-04-05_12-34-56_environmentlogger.json
 *   MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/left.bin
 *   MovingSensor/stereoTop/2016-08-02/2016-08-02__09-42-51-195/..._metadata.json
 *   MAC/lightning/2016-04-05/file.dat
 */

export interface SensorInfo {
  sensor: string;
  /** YYYY-MM-DD */
  date: string | null;
  /** YYYY-MM-DD__hh-mm-ss-mmm when the file sits in a timestamp folder */
  timestamp: string | null;
  /** `<sensor> - <timestamp|date>`: the Clowder dataset */
  datasetName: string;
  /** Directory of the dataset, relative (metadata.json lives here) */
  datasetDir: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** `_<n>` after the time: a dataset disambiguated from another of the same instant (lemnatec-source, two snapshots in one millisecond). */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})__\d{2}-\d{2}-\d{2}(-\d{1,3})?(_\d{1,4})?$/;

/** Fixes the historical typo so one sensor keeps one name. */
export function canonicalSensor(name: string): string {
  return name === 'EnviromentLogger' ? 'EnvironmentLogger' : name;
}

/**
 * Sensor, date and timestamp of a file, by the original rule: the parent
 * directory is the timestamp; if it contains `__` the sensor is 4 levels up
 * (…/sensor/date/timestamp/file), otherwise 3 (…/sensor/date/file).
 * Returns null when the path does not have that shape.
 */
export function sensorInfo(relPath: string): SensorInfo | null {
  const parts = relPath.split('/').filter(Boolean);
  if (parts.length < 3) return null;
  const parent = parts[parts.length - 2]!;
  if (parent.includes('__')) {
    if (parts.length < 4) return null;
    const m = TIMESTAMP.exec(parent);
    const date = parts[parts.length - 3]!;
    const sensor = canonicalSensor(parts[parts.length - 4]!);
    if (!m || !DATE.test(date)) return null;
    return { sensor, date: m[1]!, timestamp: parent, datasetName: `${sensor} - ${parent}`, datasetDir: parts.slice(0, -1).join('/') };
  }
  if (!DATE.test(parent)) return null;
  const sensor = canonicalSensor(parts[parts.length - 3]!);
  return { sensor, date: parent, timestamp: null, datasetName: `${sensor} - ${parent}`, datasetDir: parts.slice(0, -1).join('/') };
}

/** Best-effort sensor name for any path (falls back to the first directory, or "unknown"). */
export function sensorOf(relPath: string): string {
  const info = sensorInfo(relPath);
  if (info) return info.sensor;
  const parts = relPath.split('/').filter(Boolean);
  return parts.length > 1 ? canonicalSensor(parts[parts.length > 2 ? 1 : 0]!) : 'unknown';
}

/** The Clowder collection chain for a dataset: sensor → year → month → day (day only with a timestamp). */
export function collectionChain(info: SensorInfo): string[] {
  const chain = [info.sensor];
  if (!info.date) return chain;
  const [y, m] = info.date.split('-');
  chain.push(`${info.sensor} - ${y}`, `${info.sensor} - ${y}-${m}`);
  if (info.timestamp) chain.push(`${info.sensor} - ${info.date}`);
  return chain;
}

/** True when any path component is hidden (starts with a dot). */
export function isHidden(relPath: string): boolean {
  // A component starts with a dot: at the start, or right after a slash.
  return relPath.startsWith('.') || relPath.includes('/.');
}

/**
 * Whitelist by directory prefix, as the original: an entry `MovingSensor/stereoTop`
 * admits `MovingSensor/stereoTop/...` (whole components only, so it does not
 * admit `MovingSensor/stereoTopX`). An empty whitelist admits nothing.
 */
export function isWhitelisted(relPath: string, whitelist: readonly string[]): boolean {
  const p = relPath.replace(/^\/+/, '');
  return whitelist.some((w) => {
    const e = w.replace(/^\/+|\/+$/g, '');
    return e !== '' && (p === e || p.startsWith(`${e}/`));
  });
}

/**
 * The original's destination rewrite: strip `LemnaTec/`, `MovingSensor/`,
 * `MAC/` and `3DScannerRawData*Tmp/` prefixes, drop `MovingSensor.reproc*`
 * levels, and put `.ply` files under Level_1 instead of raw_data.
 * Result: `<raw_data|Level_1>/<sensor>/<date>/...`, relative to the site folder.
 */
export function destinationRelPath(relPath: string): string {
  let parts = relPath.split('/').filter(Boolean);
  parts = parts.filter((p) => !/^MovingSensor\.reproc/.test(p));
  while (parts.length > 1 && (['LemnaTec', 'MovingSensor', 'MAC'].includes(parts[0]!) || /^3DScannerRawData.*Tmp$/.test(parts[0]!))) parts = parts.slice(1);
  const level = relPath.toLowerCase().endsWith('.ply') ? 'Level_1' : 'raw_data';
  return [level, ...parts].join('/');
}

/** Joins a root and a relative path with exactly one slash. */
export function joinPath(root: string, rel: string): string {
  return `${root.replace(/\/+$/, '')}/${rel.replace(/^\/+/, '')}`;
}

/** The path of `abs` relative to `root`, or null when it is not under it (purely lexical; callers realpath first). */
export function relativeTo(root: string, abs: string): string | null {
  const r = root.replace(/\/+$/, '');
  if (!abs.startsWith(`${r}/`)) return null;
  const rel = abs.slice(r.length + 1);
  return rel.split('/').some((p) => p === '..' || p === '.' || p === '') ? null : rel;
}
