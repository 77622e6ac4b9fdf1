import { destinationRelPath, isWhitelisted, joinPath, relativeTo } from '@terra-transfer/site-layout';

export interface Destination {
  /** Short name, used in labels and metrics */
  name: string;
  /** Globus collection id */
  endpoint: string;
  /** Root of the site's data on that collection */
  root: string;
  /** Relative path prefixes this destination takes; absent = every file */
  include?: string[];
}

export function validateDestinations(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty JSON array';
  const names = new Set<string>();
  for (const [i, d] of v.entries()) {
    if (typeof d !== 'object' || d === null) return `[${i}] must be an object`;
    const { name, endpoint, root, include } = d as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) return `[${i}].name must be a slug`;
    if (names.has(name)) return `[${i}].name ${name} is used twice`;
    names.add(name);
    if (typeof endpoint !== 'string' || endpoint === '') return `[${i}].endpoint must be a collection id`;
    if (typeof root !== 'string' || !root.startsWith('/')) return `[${i}].root must be an absolute path`;
    if (include !== undefined && (!Array.isArray(include) || include.some((p) => typeof p !== 'string'))) return `[${i}].include must be an array of path prefixes`;
  }
  return undefined;
}

export interface Route {
  destination: Destination;
  /** Path relative to the cache root */
  relPath: string;
  sourcePath: string;
  destinationPath: string;
}

/**
 * Where a cache file goes: the first destination that includes it, with the
 * source path as the source collection sees it and the destination path
 * after the site's rewrite rules. Null when the file is outside the cache
 * root or no destination takes it.
 */
export function route(
  cachePath: string,
  opts: { cacheRoot: string; sourceRoot: string; destinations: readonly Destination[]; rules: 'terraref' | 'identity' },
): Route | null {
  const relPath = relativeTo(opts.cacheRoot, cachePath);
  if (relPath === null) return null;
  const destination = opts.destinations.find((d) => !d.include || isWhitelisted(relPath, d.include));
  if (!destination) return null;
  const destRel = opts.rules === 'terraref' ? destinationRelPath(relPath) : relPath;
  return { destination, relPath, sourcePath: joinPath(opts.sourceRoot, relPath), destinationPath: joinPath(destination.root, destRel) };
}
