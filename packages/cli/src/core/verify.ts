/** Where one file of a day was found, in the destination's relative space (`raw_data/<sensor>/<date>/…`). */
export interface Sighting {
  rel: string;
  size: number;
}

export interface PlaceCounts { files: number; bytes: number }

interface Difference {
  rel: string;
  problem: 'not_at_destination' | 'not_in_clowder' | 'deleted_from_destination' | 'size_differs';
  detail: string;
}

/** A path component that starts with a date names that day's data (`2026-11-24`, `2026-11-24__10-00-00-000`). */
export const DATED = /^\d{4}-\d{2}-\d{2}/;
export const belongsTo = (rel: string, day: string) => rel.split('/').some((c) => c.startsWith(day));

/**
 * Whether the ingest registers a file as a file of its dataset: every file, but a `*metadata.json`
 * (the ingest's rule: the name contains metadata.json) only where the site's `clowder.metadataAsFile` says so.
 */
export const registeredAsFile = (rel: string, metadataAsFile: boolean) => metadataAsFile || !(rel.split('/').pop() ?? '').includes('metadata.json');

/** `raw_data/<sensor>/…` → sensor. */
const sensorOfDestRel = (rel: string) => rel.split('/')[1] ?? '?';

/**
 * The operators' check, for one day: counts and bytes per sensor in the cache,
 * at the destination and in Clowder, and each file that is not where it should
 * be. A file in the cache and not at the destination is not (yet) transferred;
 * registered in Clowder and missing at the destination, it was deleted there;
 * at the destination and not in Clowder, it is not registered, unless
 * `registered` says it is not meant to be (a site whose metadata.json is
 * attached to its dataset only). Pure.
 */
export function compare(cache: readonly Sighting[], destination: readonly Sighting[], clowder: readonly Sighting[] | null, registered: (rel: string) => boolean = () => true) {
  const per = new Map<string, { cache: PlaceCounts; destination: PlaceCounts; clowder: PlaceCounts }>();
  const add = (place: 'cache' | 'destination' | 'clowder', s: Sighting) => {
    const k = sensorOfDestRel(s.rel);
    let row = per.get(k);
    if (!row) per.set(k, (row = { cache: { files: 0, bytes: 0 }, destination: { files: 0, bytes: 0 }, clowder: { files: 0, bytes: 0 } }));
    row[place].files++;
    row[place].bytes += s.size;
  };
  cache.forEach((s) => add('cache', s));
  destination.forEach((s) => add('destination', s));
  clowder?.forEach((s) => add('clowder', s));
  const dest = new Map(destination.map((s) => [s.rel, s]));
  const reg = new Map((clowder ?? []).map((s) => [s.rel, s]));
  const differences: Difference[] = [];
  for (const c of cache) {
    const d = dest.get(c.rel);
    if (!d && !reg.has(c.rel)) differences.push({ rel: c.rel, problem: 'not_at_destination', detail: `in the cache (${c.size} bytes), not at the destination` });
    else if (d && d.size !== c.size) differences.push({ rel: c.rel, problem: 'size_differs', detail: `${c.size} bytes in the cache, ${d.size} at the destination` });
  }
  for (const r of reg.values()) {
    if (!dest.has(r.rel)) differences.push({ rel: r.rel, problem: 'deleted_from_destination', detail: 'registered in Clowder, not at the destination' });
  }
  if (clowder) for (const d of destination) if (!reg.has(d.rel) && registered(d.rel)) differences.push({ rel: d.rel, problem: 'not_in_clowder', detail: 'at the destination, not registered in Clowder' });
  differences.sort((a, b) => a.rel.localeCompare(b.rel));
  const sensors = [...per].sort(([a], [b]) => a.localeCompare(b)).map(([sensor, counts]) => ({ sensor, ...counts }));
  return { sensors, differences };
}
