import { relativeTo } from '@terra-transfer/site-layout';

/**
 * The cache-relative path of `abs`, or null when it is not lexically inside
 * `root` (absolute elsewhere, `..` or `.` components, empty components).
 * Only the first gate: the adapter then checks the real path on disk.
 */
export function insideRoot(root: string, abs: string): string | null {
  if (!abs.startsWith('/') || abs.includes('\0')) return null;
  return relativeTo(root, abs);
}

/**
 * Parent directories of `rel` that a deletion may remove when they are empty,
 * deepest first: at most `depth` levels, never the cache root, never a
 * whitelisted root nor any directory above one (removing those would break the
 * layout uploaders expect).
 */
export function removableParents(rel: string, whitelist: readonly string[], depth: number): string[] {
  const parts = rel.split('/').filter(Boolean);
  const wl = whitelist.map((w) => w.replace(/^\/+|\/+$/g, '')).filter(Boolean);
  const protectedDir = (dir: string) => wl.some((w) => w === dir || w.startsWith(`${dir}/`));
  const out: string[] = [];
  for (let n = parts.length - 1; n >= 1 && out.length < depth; n--) {
    const dir = parts.slice(0, n).join('/');
    if (protectedDir(dir)) break;
    out.push(dir);
  }
  return out;
}
