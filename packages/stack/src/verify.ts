import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GlobusClient } from '@terra-transfer/globus';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { DEST_SITE_ROOT } from './local.js';
import { LOCAL, type Stack, type StackLayout } from './stack.js';

export interface ExpectedFile {
  rel: string;
  size: number;
  md5: string;
}

export interface Verdict {
  expected: number;
  /** At the destination with the bytes that were uploaded */
  arrived: number;
  /** Not at the destination, or with other bytes */
  missing: string[];
  /** Still in the cache (not deleted) */
  inCache: string[];
  /** Deleted from the cache although their destination copy is missing or wrong */
  deletedPrematurely: string[];
  clowder: { files: number; distinctFilePaths: number; datasets: number; collections: number; datasetsWithMetadata: number; duplicates: number };
  globus: { tasks: number; filesTransferred: number; pathsTransferredTwice: string[]; duplicateLabels: string[] };
}

/**
 * Checks the pipeline's promises from the outside, as an operator would:
 * every completed upload is at the destination with its bytes and gone from
 * the cache, each is in Clowder once, and Globus moved each file once.
 */
export async function verify(stack: Stack, l: StackLayout, expected: readonly ExpectedFile[], opts: { globusDetail?: boolean } = {}): Promise<Verdict> {
  const v: Verdict = {
    expected: expected.length, arrived: 0, missing: [], inCache: [], deletedPrematurely: [],
    clowder: { files: 0, distinctFilePaths: 0, datasets: 0, collections: 0, datasetsWithMetadata: 0, duplicates: 0 },
    globus: { tasks: 0, filesTransferred: 0, pathsTransferredTwice: [], duplicateLabels: [] },
  };
  for (const f of expected) {
    const inCache = await stat(join(l.cacheRoot, f.rel)).then(() => true, () => false);
    const body = await readFile(join(l.destRoot, DEST_SITE_ROOT, destinationRelPath(f.rel))).catch(() => undefined);
    const ok = !!body && createHash('md5').update(body).digest('hex') === f.md5;
    if (ok) v.arrived++;
    else v.missing.push(f.rel);
    if (inCache) v.inCache.push(f.rel);
    else if (!ok) v.deletedPrematurely.push(f.rel);
  }
  const summary = (await (await fetch(`${stack.url('clowder-sim')}/admin/summary`, { headers: { authorization: `Bearer ${LOCAL.simAdminToken}` } })).json()) as {
    counts: Verdict['clowder'];
    duplicates: Record<string, unknown[]>;
  };
  v.clowder = { ...summary.counts, duplicates: Object.values(summary.duplicates).reduce((n, d) => n + d.length, 0) };

  const globusUrl = stack.url('globus-sim');
  const g = new GlobusClient({ authUrl: globusUrl, transferUrl: `${globusUrl}/v0.10`, clientId: LOCAL.globusClientId, clientSecret: LOCAL.globusClientSecret, rateLimitPerSec: 0 });
  const tasks = await g.taskListAll({ fields: ['task_id', 'label', 'status', 'files_transferred'] });
  v.globus.tasks = tasks.length;
  const labels = new Map<string, number>();
  for (const t of tasks) {
    v.globus.filesTransferred += t.files_transferred ?? 0;
    if (t.label) labels.set(t.label, (labels.get(t.label) ?? 0) + 1);
  }
  v.globus.duplicateLabels = [...labels].filter(([, n]) => n > 1).map(([label]) => label);
  if (opts.globusDetail) {
    const seen = new Map<string, number>();
    for (const t of tasks) {
      if (t.status !== 'SUCCEEDED' && t.status !== 'FAILED') continue;
      for (const s of await g.allSuccessfulTransfers(t.task_id)) if (s.source_path) seen.set(s.source_path, (seen.get(s.source_path) ?? 0) + 1);
    }
    v.globus.pathsTransferredTwice = [...seen].filter(([, n]) => n > 1).map(([p]) => p);
  }
  return v;
}

/** True when every promise holds. */
export function clean(v: Verdict): boolean {
  return v.missing.length === 0 && v.inCache.length === 0 && v.deletedPrematurely.length === 0 && v.clowder.duplicates === 0
    && v.clowder.distinctFilePaths === v.expected && v.clowder.files === v.expected && v.globus.pathsTransferredTwice.length === 0 && v.globus.duplicateLabels.length === 0;
}
