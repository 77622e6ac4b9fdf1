/**
 * Clowder's title search: with `exact=true` an exact, case-sensitive name
 * match; otherwise Mongo's `name =~ /(?i)<title>/`, unanchored and with
 * metacharacters NOT escaped (so "a.b" also matches "axb"). An invalid
 * pattern is a Mongo error, i.e. a 500.
 */
export function titleMatcher(title: string, exact: boolean): (name: string) => boolean {
  if (exact) return (name) => name === title;
  const re = new RegExp(title, 'i');
  return (name) => re.test(name);
}

/** Sorted by created desc, then name asc; limit 0 means all (Clowder's default limit is 12). */
export function sortAndLimit<T extends { created: number; name: string; id: string }>(items: T[], limit: number): T[] {
  items.sort((a, b) => b.created - a.created || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? 1 : -1));
  return limit > 0 ? items.slice(0, limit) : items;
}

/** Clowder's bool/int query parsing (Play binders): anything else is a 400 "Cannot parse parameter". */
export function parseBool(raw: string | undefined, dflt: boolean): boolean | undefined {
  if (raw === undefined) return dflt;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return undefined;
}

export function parseIntParam(raw: string | undefined, dflt: number): number | undefined {
  if (raw === undefined) return dflt;
  return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
}
