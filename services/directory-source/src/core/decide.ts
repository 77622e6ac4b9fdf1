import { isHidden, isWhitelisted } from '@terra-transfer/site-layout';
import { sameVersion } from '@terra-transfer/ledger';
import type { Version } from './version.js';

/** The site's completion markers (packages/sites: `source.completionMarkers`). */
export interface MarkerRule {
  readonly names: readonly string[];
  /** `run`: a marker directly in a run folder (the first level below a whitelisted folder) completes that folder's whole tree; `own`: a marker completes the files of the folder it is in. */
  readonly folder: 'run' | 'own';
}

/** What the source does with one observed version of a file (a closed set). */
export type Verdict =
  /** This very version was sent (its record says so): nothing to do. */
  | { kind: 'sent_already' }
  /** Complete: publish it. `changed`: another version of this path was sent before. */
  | { kind: 'send'; changed: boolean }
  /** Seen, not yet unchanged for the settle time: looked at again later. */
  | { kind: 'settling' }
  /** Would be settling, but the settling set is full: not tracked; a later look (scan, event) finds it again. */
  | { kind: 'deferred' }
  /** Its folder has no completion marker yet. Not tracked: the marker's arrival (or a scan) brings it back. */
  | { kind: 'waiting_marker' };

export type SettleState = 'settled' | 'tracking' | 'full';

export interface Observation {
  version: Version;
  /** The version recorded as sent for this path, if any. */
  sent: Version | null;
  /** Sites with markers: whether the file's folder is complete. `none`: the site has no markers. */
  marker: 'none' | 'complete' | 'incomplete';
}

/**
 * The decision for one observation. `settle` notes the observation in the
 * settling set and says where the version stands; it is called only when the
 * answer depends on it (a version sent already, or waiting for its marker,
 * takes no room there).
 *
 * In a completed folder the marker is the writer's word that the files are
 * whole, so a first version goes at once; a version that replaces one already
 * sent (a rewrite after completion) must settle like any other file, since
 * nothing says its writer is done.
 */
export function decide(o: Observation, settle: () => SettleState): Verdict {
  if (o.sent && sameVersion(o.sent, o.version)) return { kind: 'sent_already' };
  if (o.marker === 'incomplete') return { kind: 'waiting_marker' };
  if (o.marker === 'complete' && !o.sent) return { kind: 'send', changed: false };
  switch (settle()) {
    case 'settled':
      return { kind: 'send', changed: o.sent !== null };
    case 'tracking':
      return { kind: 'settling' };
    case 'full':
      return { kind: 'deferred' };
  }
}

/** Whether a file (path relative to the root) is one the site sends: not hidden, whitelisted, not excluded. */
export function admits(relPath: string, whitelist: readonly string[], exclude: readonly string[]): boolean {
  return !isHidden(relPath) && isWhitelisted(relPath, whitelist) && !exclude.some((x) => relPath.includes(x));
}

/** Whether a folder (relative to the root; '' is the root) may hold files the site sends: the walk skips the others. */
export function mayHoldAdmitted(relDir: string, whitelist: readonly string[]): boolean {
  if (relDir === '') return true;
  if (isHidden(relDir)) return false;
  return whitelist.some((w) => {
    const e = w.replace(/^\/+|\/+$/g, '');
    return e === relDir || e.startsWith(`${relDir}/`) || relDir.startsWith(`${e}/`);
  });
}

/**
 * The folder whose marker completes a file, relative to the root ('' = the
 * root itself, `own` only), or null when no folder can complete it.
 * `run`: the run folder is the first level below the whitelisted folder that
 * admits the file (whitelist `NovaSeq` → run `NovaSeq/240101_A0001_0001`): a
 * file directly in the whitelisted folder belongs to no run. `own`: the
 * folder the file is in.
 */
export function completionFolder(relPath: string, rule: MarkerRule, whitelist: readonly string[]): string | null {
  if (rule.folder === 'own') {
    const last = relPath.lastIndexOf('/');
    return last === -1 ? '' : relPath.slice(0, last);
  }
  for (const w of whitelist) {
    const e = w.replace(/^\/+|\/+$/g, '');
    if (e === '' || !relPath.startsWith(`${e}/`)) continue;
    const slash = relPath.indexOf('/', e.length + 1);
    return slash === -1 ? null : relPath.slice(0, slash);
  }
  return null;
}

/** True when the file is a marker in the place where it completes a folder. */
export function isMarker(relPath: string, rule: MarkerRule, whitelist: readonly string[]): boolean {
  const folder = completionFolder(relPath, rule, whitelist);
  if (folder === null) return false;
  const rest = folder === '' ? relPath : relPath.slice(folder.length + 1);
  return !rest.includes('/') && rule.names.includes(rest);
}
