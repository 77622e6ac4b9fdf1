/**
 * A version of a file: its size and its mtime. The one definition every
 * service and the ledger's Lua scripts use to judge "the same version".
 *
 * mtime precision: whole milliseconds. `stat` gives mtimeMs with a fraction
 * (nanosecond clocks), events carry what the source's stat gave, and some
 * writers kept `Math.floor(stat.mtimeMs)`; so an mtime is compared by its
 * floor. Values are stored as they came (upload ids and records keep their
 * precision); only comparisons apply the convention. A rewrite within the
 * same millisecond with an identical size is not a case an upload produces.
 */
export interface FileVersion {
  size: number;
  mtimeMs: number;
}

/** The mtime at the precision versions are compared at (whole milliseconds). */
export function versionMtime(mtimeMs: number): number {
  return Math.floor(mtimeMs);
}

/** Same size and the same mtime to the millisecond. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && versionMtime(a.mtimeMs) === versionMtime(b.mtimeMs);
}

/**
 * The same rule in Lua, for the ledger's scripts (prepended to each script
 * that compares versions). Arguments are the strings Redis holds (a stored
 * field may be absent: false); Redis' Lua numbers are doubles, as JS's are,
 * so the floor agrees with versionMtime.
 */
export const LUA_SAME_VERSION = `
local function same_version(size_a, mtime_a, size_b, mtime_b)
  if not size_a or not mtime_a or not size_b or not mtime_b or size_a ~= size_b then return false end
  local a, b = tonumber(mtime_a), tonumber(mtime_b)
  return a ~= nil and b ~= nil and math.floor(a) == math.floor(b)
end
`;
