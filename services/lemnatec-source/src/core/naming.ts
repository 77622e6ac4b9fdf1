import { safeLabel } from './camera.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The snapshot's time as the original named datasets: `YYYY-MM-DD__hh-mm-ss-mmm` (UTC, milliseconds always 3 digits). */
export function snapshotTimeName(t: Date): string {
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}__${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}-${pad(t.getUTCSeconds())}-${pad(t.getUTCMilliseconds(), 3)}`;
}

/**
 * The snapshot's folder in the staging area (relative): `<sensor>/<date>/<time>`,
 * `_<n>` appended for the n-th snapshot (n ≥ 2) claiming the same time; the
 * ingest names the dataset `<sensor> - <time>[_<n>]` from it.
 */
export function snapshotFolder(sensor: string, timeName: string, n: number): string {
  return `${sensor}/${timeName.slice(0, 10)}/${timeName}${n > 1 ? `_${n}` : ''}`;
}

export function datasetNameOf(folder: string): string {
  const parts = folder.split('/');
  return `${parts[0]} - ${parts[parts.length - 1]}`;
}

/** The exported image's name, as the Danforth tools named it: `<camera label>_<raw image oid>.png` (frame > 0: `_f<frame>` added). */
export function imageFileName(cameraLabel: string, oid: number, frame: number): string {
  return `${safeLabel(cameraLabel)}_${oid}${frame > 0 ? `_f${frame}` : ''}.png`;
}

/** The upload id of one exported file: the same file of the same snapshot always gets the same id. */
export function lemnatecUploadId(site: string, database: string, snapshotId: number, fileName: string): string {
  return `lt:${site}:${database}:${snapshotId}:${fileName}`.slice(0, 512);
}
