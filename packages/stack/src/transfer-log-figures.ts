import { realpath } from 'node:fs/promises';
import { ownedRoot, type Site } from '@terra-transfer/sites';
import type { SiteVerdict } from './verify.js';

/** A site's files as the transfer log knows them (each path counted once, whatever its versions). */
export interface LoggedFiles {
  /** Paths with a version logged (uploaded or later) */
  seen: number;
  transferred: number;
  deleted: number;
  ingested: number;
  failed: number;
}

interface VersionItem { path: string; transferredAt: string | null; deletedAt: string | null; ingestedAt: string | null; failedAt: string | null }

const get = async <T>(url: string): Promise<T> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

/**
 * The files of a site's folder in the transfer log (`GET /api/v1/files?prefix=`,
 * every page). `only`, when given, limits the count to these paths relative
 * to the site's folder (the files the demo wrote).
 */
export async function loggedFiles(tlogUrl: string, site: Site, only?: ReadonlySet<string>): Promise<LoggedFiles> {
  const root = await realpath(ownedRoot(site.source).root).catch(() => ownedRoot(site.source).root);
  const byPath = new Map<string, { t: boolean; d: boolean; i: boolean; f: boolean }>();
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ prefix: `${root}/`, limit: '1000', ...(cursor ? { cursor } : {}) });
    const page: { items: VersionItem[]; nextCursor: string | null } = await get(`${tlogUrl}/api/v1/files?${q}`);
    for (const v of page.items) {
      if (only && !only.has(v.path.slice(root.length + 1))) continue;
      const p = byPath.get(v.path) ?? { t: false, d: false, i: false, f: false };
      p.t ||= v.transferredAt !== null;
      p.d ||= v.deletedAt !== null;
      p.i ||= v.ingestedAt !== null;
      p.f ||= v.failedAt !== null && v.transferredAt === null;
      byPath.set(v.path, p);
    }
    cursor = page.nextCursor;
  } while (cursor);
  const count = (k: 't' | 'd' | 'i' | 'f') => [...byPath.values()].filter((p) => p[k]).length;
  return { seen: byPath.size, transferred: count('t'), deleted: count('d'), ingested: count('i'), failed: count('f') };
}

/** Files and bytes arrived per site, summed over the days of `GET /api/v1/volumes` (the last 56 days). */
export async function loggedVolumes(tlogUrl: string): Promise<Record<string, { files: number; bytes: number }>> {
  const r: { volumes: Array<{ site: string; files: number; bytes: number }> } = await get(`${tlogUrl}/api/v1/volumes?by=day`);
  const out: Record<string, { files: number; bytes: number }> = {};
  for (const v of r.volumes) {
    const s = (out[v.site] ??= { files: 0, bytes: 0 });
    s.files += v.files;
    s.bytes += v.bytes;
  }
  return out;
}

/** One site's line of the demo's JSON verdict. */
export interface SiteOutcome {
  completed: number;
  at_destination: number;
  deleted: number;
  ingested: number;
  lost: number;
  result: 'ok' | 'failed';
  /** Why it failed (absent when ok) */
  problems?: string[];
}

/**
 * A site's outcome: the verifier's file-system figures next to the transfer
 * log's. "completed" is a file at the destination with its bytes, registered
 * in Clowder, and deleted from the site's folder where the site's policy
 * deletes (a `never` site keeps its files: `deleted` is 0 by design and every
 * file must still be there). The site fails when any file is lost, when the
 * log's arrivals (volumes) differ from the bytes and files found at the
 * destination, or when `global` (problems across sites) is not empty.
 */
export function siteOutcome(v: SiteVerdict, logged: LoggedFiles, volume: { files: number; bytes: number } | undefined, global: readonly string[] = []): SiteOutcome {
  // A lemnatec site's staging area is emptied by its source (the instrument's data is never deleted): checked like a deleting site's folder.
  const deletes = !v.keeps;
  const deleted = deletes ? v.gone.length : 0;
  const problems: string[] = [];
  if (v.missing.length) problems.push(`${v.missing.length} not at the destination with their bytes (e.g. ${v.missing[0]})`);
  if (v.deletedPrematurely.length) problems.push(`${v.deletedPrematurely.length} deleted without a good copy at the destination`);
  if (deletes && v.inSource.length) problems.push(`${v.inSource.length} left in ${v.policy === 'never' ? 'the staging area' : 'the cache'} (e.g. ${v.inSource[0]})`);
  if (!deletes && v.gone.length) problems.push(`${v.gone.length} gone from a folder whose policy is never`);
  if (logged.ingested < v.expected) problems.push(`${v.expected - logged.ingested} not registered in Clowder (transfer log)`);
  if (logged.failed) problems.push(`${logged.failed} given up (transfer log)`);
  const vol = volume ?? { files: 0, bytes: 0 };
  if (vol.bytes !== v.bytesAtDestination || vol.files !== v.arrived) problems.push(`transfer log volumes ${vol.files} files ${vol.bytes} bytes, the destination holds ${v.arrived} files ${v.bytesAtDestination} bytes`);
  problems.push(...global);
  const completed = deletes ? Math.min(v.arrived, logged.ingested, v.gone.length - v.deletedPrematurely.length) : Math.min(v.arrived, logged.ingested);
  return {
    completed, at_destination: v.arrived, deleted, ingested: logged.ingested, lost: v.missing.length,
    result: problems.length ? 'failed' : 'ok', ...(problems.length ? { problems } : {}),
  };
}
