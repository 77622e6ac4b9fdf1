import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { topology, type BrokerSide } from '@terra-transfer/contracts';
import { GlobusClient } from '@terra-transfer/globus';
import { FILE_STATES, type FileState } from '@terra-transfer/ledger';
import { destinationRelPath } from '@terra-transfer/site-layout';
import { DEAD_LETTER_HEADERS } from '@terra-transfer/platform';
import { loadSites, ownedRoot, type Site, type Sites } from '@terra-transfer/sites';
import { drainQueue, queueDepths, scanHashes } from '@terra-transfer/testkit';
import { DEST_SITE_ROOT } from './local.js';
import { LOCAL, type Stack, type StackLayout } from './stack.js';

export interface ExpectedFile {
  rel: string;
  /** Size and checksum of the newest content of this path */
  size: number;
  md5: string;
  /** Completed uploads of this path (killed upload + retry, rewrites): Globus may move it up to this many times; default 1 */
  versions?: number;
}

/** A ledger record the pipeline left short of `deleted`, as an operator would find it. */
export interface Unsettled {
  path: string;
  state: FileState;
  reason: string | null;
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
  /** Paths moved more often than they had versions (needs `globusDetail`) */
  globus: { tasks: number; filesTransferred: number; pathsTransferredTwice: string[]; duplicateLabels: string[] };
  /** Messages in each dead-letter queue (absent queues left out) */
  deadLettered: Record<string, number>;
  /** Ledger records not `deleted`; `unexplained`: those in flight or failed with no reason for the operator */
  ledger: { records: number; unsettled: Unsettled[]; unexplained: Unsettled[] };
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
    deadLettered: {}, ledger: { records: 0, unsettled: [], unexplained: [] },
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
  await checkServices(stack, v, expected, opts);
  return v;
}

/** The checks that span every site: Clowder (once each), Globus (each path moved once per version), dead letters, the ledger. */
async function checkServices(stack: Stack, v: Verdict, expected: readonly ExpectedFile[], opts: { globusDetail?: boolean }): Promise<void> {
  const summary = (await (await fetch(`${stack.url('clowder-sim')}/admin/summary`, { headers: { authorization: `Bearer ${LOCAL.simAdminToken}` } })).json()) as {
    counts: Verdict['clowder'];
    duplicates: Record<string, unknown[]>;
  };
  v.clowder = { ...summary.counts, duplicates: Object.values(summary.duplicates).reduce((n, d) => n + d.length, 0) };

  const globusUrl = stack.url('globus-sim');
  const g = new GlobusClient({ authUrl: globusUrl, transferUrl: `${globusUrl}/v0.10`, clientId: LOCAL.globusClientId, clientSecret: LOCAL.globusClientSecret, rateLimitPerSec: 0 });
  const tasks = await g.taskListAll({ fields: ['task_id', 'label', 'status', 'files_transferred', 'source_endpoint_id'] });
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
      // Keyed by source endpoint too: two sites' folders may hold the same relative path.
      for (const s of await g.allSuccessfulTransfers(t.task_id)) if (s.source_path) seen.set(`${t.source_endpoint_id ?? ''} ${s.source_path}`, (seen.get(`${t.source_endpoint_id ?? ''} ${s.source_path}`) ?? 0) + 1);
    }
    const versions = new Map(expected.map((f) => [f.rel, f.versions ?? 1]));
    const pathOf = (key: string) => key.slice(key.indexOf(' ') + 1);
    v.globus.pathsTransferredTwice = [...seen].filter(([k, n]) => n > (versions.get(pathOf(k).replace(/^\//, '')) ?? 1)).map(([k]) => pathOf(k));
  }
  const { brokers, redisUrl, prefix, sites } = brokerOf(stack);
  // Each broker's own dead-letter queues (two brokers: each side holds its queues' DLQs).
  for (const b of brokers) {
    const depths = await queueDepths(b.amqpUrl, topology(prefix, sites, b.side).queues().filter((q) => !q.tap).map((q) => q.deadLetter));
    Object.assign(v.deadLettered, Object.fromEntries(Object.entries(depths).filter((e): e is [string, number] => e[1] !== null)));
  }
  if (redisUrl) v.ledger = await ledgerState(redisUrl, prefix);
}

/** One site's files, checked from the file system: at the destination with their bytes, and left in or gone from the site's folder. */
export interface SiteVerdict {
  site: string;
  policy: Site['deletion']['policy'];
  /** The site's folder keeps its files: policy `never`, except a lemnatec site's staging area, which the source empties once its files arrived */
  keeps: boolean;
  expected: number;
  /** At the destination with the bytes written */
  arrived: number;
  /** Bytes of the files at the destination with the right content */
  bytesAtDestination: number;
  missing: string[];
  /** Files still in the site's folder */
  inSource: string[];
  /** Files gone from the site's folder */
  gone: string[];
  /** Gone although their destination copy is missing or wrong */
  deletedPrematurely: string[];
}

/** Where a site's destination root is on this machine (`clowder.localRoot`, as the ingest reads it). */
export function localDestination(site: Site): string {
  if (!site.clowder.localRoot) throw new Error(`site ${site.name}: the local stack needs clowder.localRoot (the destination folder on this machine)`);
  return site.clowder.localRoot;
}

/** A site's relative source path → its path at the destination, by the site's path rules. */
export const destinationPathOf = (site: Site, rel: string) => join(localDestination(site), site.pathRules === 'identity' ? rel : destinationRelPath(rel));

/** Whether a site's own folder keeps its files (see `SiteVerdict.keeps`). */
export const keepsFiles = (site: Site): boolean => site.deletion.policy === 'never' && site.source.kind !== 'lemnatec';

export async function verifySite(site: Site, expected: readonly ExpectedFile[]): Promise<SiteVerdict> {
  const root = ownedRoot(site.source).root;
  const v: SiteVerdict = { site: site.name, policy: site.deletion.policy, keeps: keepsFiles(site), expected: expected.length, arrived: 0, bytesAtDestination: 0, missing: [], inSource: [], gone: [], deletedPrematurely: [] };
  for (const f of expected) {
    const inSource = await stat(join(root, f.rel)).then(() => true, () => false);
    const body = await readFile(destinationPathOf(site, f.rel)).catch(() => undefined);
    const ok = !!body && createHash('md5').update(body).digest('hex') === f.md5;
    if (ok) {
      v.arrived++;
      v.bytesAtDestination += body.length;
    } else v.missing.push(f.rel);
    if (inSource) v.inSource.push(f.rel);
    else {
      v.gone.push(f.rel);
      if (!ok) v.deletedPrematurely.push(f.rel);
    }
  }
  return v;
}

/**
 * Every site of a site file: each site's files (`verifySite`), and the checks
 * across sites (Clowder, Globus, dead letters, ledger) in one Verdict whose
 * `inCache` lists only files a deleting site left behind (a `never` site
 * keeps its files by design).
 */
export async function verifySites(stack: Stack, sites: Sites, expected: Readonly<Record<string, readonly ExpectedFile[]>>, opts: { globusDetail?: boolean } = {}): Promise<{ sites: Record<string, SiteVerdict>; all: Verdict }> {
  const per: Record<string, SiteVerdict> = {};
  for (const s of sites.sites) per[s.name] = await verifySite(s, expected[s.name] ?? []);
  const list = Object.values(per);
  const allExpected = sites.sites.flatMap((s) => expected[s.name] ?? []);
  const v: Verdict = {
    expected: allExpected.length, arrived: list.reduce((n, s) => n + s.arrived, 0),
    missing: list.flatMap((s) => s.missing.map((m) => `${s.site}:${m}`)),
    inCache: list.filter((s) => !s.keeps).flatMap((s) => s.inSource.map((m) => `${s.site}:${m}`)),
    deletedPrematurely: list.flatMap((s) => s.deletedPrematurely.map((m) => `${s.site}:${m}`)),
    clowder: { files: 0, distinctFilePaths: 0, datasets: 0, collections: 0, datasetsWithMetadata: 0, duplicates: 0 },
    globus: { tasks: 0, filesTransferred: 0, pathsTransferredTwice: [], duplicateLabels: [] },
    deadLettered: {}, ledger: { records: 0, unsettled: [], unexplained: [] },
  };
  await checkServices(stack, v, allExpected, opts);
  return { sites: per, all: v };
}
/**
 * Why messages were dead-lettered (for a failure message): the first few of
 * each non-empty DLQ, taken off it, with the broker's reason and the event's
 * path. Call it only at the end of a run.
 */
export async function deadLetterSample(stack: Stack, v: Verdict, perQueue = 3): Promise<Array<{ queue: string; reason: unknown; deliveries: unknown; path: unknown; code: unknown; detail: unknown }>> {
  const { brokers, prefix, sites } = brokerOf(stack);
  const out = [];
  for (const [queue, n] of Object.entries(v.deadLettered)) {
    if (n === 0) continue;
    const b = brokers.find((x) => topology(prefix, sites, x.side).queues().some((q) => q.deadLetter === queue));
    if (!b) continue;
    for (const m of (await drainQueue(b.amqpUrl, queue)).slice(0, perQueue)) {
      const h = m.properties.headers ?? {};
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(m.content.toString()) as Record<string, unknown>;
      } catch {
        // not JSON: the reason alone says enough
      }
      const data = (body['data'] ?? body) as Record<string, unknown>;
      // The broker's reason (delivery limit) or, when a consumer dead-lettered it itself, its error code and detail.
      out.push({ queue, reason: h['x-first-death-reason'], deliveries: h['x-delivery-count'], path: data['path'] ?? data['files'], code: h[DEAD_LETTER_HEADERS.code], detail: h[DEAD_LETTER_HEADERS.detail] });
    }
  }
  return out;
}

/**
 * The brokers (one, or a site's and a data centre's: `AMQP_SIDE`), the ledger's Redis (the site
 * side's) and the prefix the services of this stack use, from their environment.
 */
function brokerOf(stack: Stack): { brokers: Array<{ amqpUrl: string; side?: BrokerSide }>; redisUrl?: string; prefix: string; sites: string[] } {
  const withBroker = stack.specs.filter((s) => s.env['AMQP_URL']);
  const env = withBroker.find((s) => s.env['AMQP_SIDE'] !== 'datacentre')?.env ?? {};
  // Every site of the stack's site file has its per-site queues (and their dead-letter queues).
  const sites = env['SITES_FILE'] ? loadSites(env['SITES_FILE']).names() : [];
  const brokers = new Map<string, { amqpUrl: string; side?: BrokerSide }>();
  for (const s of withBroker) {
    const side = s.env['AMQP_SIDE'] === 'site' || s.env['AMQP_SIDE'] === 'datacentre' ? s.env['AMQP_SIDE'] : undefined;
    brokers.set(`${s.env['AMQP_URL']!} ${side ?? 'both'}`, { amqpUrl: s.env['AMQP_URL']!, ...(side ? { side } : {}) });
  }
  return { brokers: [...brokers.values()], redisUrl: env['REDIS_URL'], prefix: env['AMQP_PREFIX'] ?? 'terra', sites };
}

/** Reads the ledger as an operator would: every record not `deleted`, and which of those say nothing about why. */
async function ledgerState(redisUrl: string, prefix: string): Promise<Verdict['ledger']> {
  const marker = `${prefix}:file:`;
  const hashes = await scanHashes(redisUrl, `${marker}*`);
  const out: Verdict['ledger'] = { records: 0, unsettled: [], unexplained: [] };
  for (const [key, h] of hashes) {
    const state = h['state'] as FileState | undefined;
    if (!state || !FILE_STATES.includes(state)) continue;
    out.records++;
    if (state === 'deleted') continue;
    const r: Unsettled = { path: key.slice(marker.length), state, reason: h['reason'] || null };
    out.unsettled.push(r);
    if ((state === 'in_flight' || state === 'batched' || state === 'failed') && !r.reason) out.unexplained.push(r);
  }
  return out;
}

/** The run's outcome in the terms, for a one-line JSON verdict (every count must be 0 but the `files`/`events` ones). */
export function verdictSummary(v: Verdict): Record<string, number> {
  return {
    lost: v.missing.length,
    unsafe_deletes: v.deletedPrematurely.length,
    duplicates: v.clowder.duplicates + Math.max(0, v.clowder.files - v.clowder.distinctFilePaths) + v.globus.pathsTransferredTwice.length + v.globus.duplicateLabels.length,
    left_in_cache: v.inCache.length,
    dead_lettered: Object.values(v.deadLettered).reduce((a, b) => a + b, 0),
    not_registered: Math.max(0, v.expected - v.clowder.distinctFilePaths),
    unsettled: v.ledger.unsettled.length,
    unexplained: v.ledger.unexplained.length,
    files: v.expected,
    arrived: v.arrived,
    clowder_files: v.clowder.files,
    globus_tasks: v.globus.tasks,
  };
}

/** True when every promise holds. */
export function clean(v: Verdict): boolean {
  return Object.values(v.deadLettered).every((n) => n === 0) && v.ledger.unexplained.length === 0 && v.missing.length === 0 && v.inCache.length === 0 && v.deletedPrematurely.length === 0 && v.clowder.duplicates === 0
    && v.clowder.distinctFilePaths === v.expected && v.clowder.files === v.expected && v.globus.pathsTransferredTwice.length === 0 && v.globus.duplicateLabels.length === 0;
}
