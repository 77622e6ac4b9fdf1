import type { Command } from 'commander';
import { ownedRoot, type Site } from '@terra-transfer/sites';
import type { Context, CommonOptions } from '../context.js';
import { notFound, usage } from '../errors.js';
import { table } from '../format.js';

export interface LedgerRecord { state: string; size: number; mtimeMs: number; uploadId: string; attempt: number; taskId: string | null; reason: string | null; updatedAt: string }

interface Version { site: string; uploadId: string; path: string | null; state: string; stateAt: string | null; size: number | null; source: string | null; destinationPath: string | null; taskId: string | null; failureReason: string | null; clowderFileId: string | null; events?: Array<{ time: string; type: string }> }

/** The ledger's records of paths of one site, through its cleaner (POST /api/v1/ledger/lookup, at most 1,000 per call). */
export async function ledgerLookup(ctx: Context, site: string, paths: readonly string[]): Promise<Map<string, LedgerRecord | null>> {
  const out = new Map<string, LedgerRecord | null>();
  for (let i = 0; i < paths.length; i += 1000) {
    const r = await ctx.call<{ records: Array<{ path: string; record: LedgerRecord | null }> }>(`cleaner@${site}`, '/api/v1/ledger/lookup', { method: 'POST', body: { paths: paths.slice(i, i + 1000) }, auth: true });
    for (const x of r.body.records) out.set(x.path, x.record);
  }
  return out;
}

/** The site whose owned folder holds the path (the cache of an xferlog site, a directory site's root). */
function siteOfPath(sites: readonly Site[], path: string): Site | undefined {
  return sites.find((s) => {
    const root = ownedRoot(s.source).root.replace(/\/+$/, '');
    return path.startsWith(`${root}/`);
  });
}

export function registerFile(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('file'))
    .argument('<path>', 'absolute cache path (with --prefix: a path prefix)')
    .description('Where a file is and its whole history: every version from the transfer log, and the site ledger\'s record (the fallback when the log has none)')
    .option('--site <site>', 'the site (default: the one whose cache holds the path)')
    .option('--prefix', 'list the versions under a path prefix instead')
    .option('--limit <n>', 'with --prefix: at most this many versions', (v) => positiveInt(v, '--limit'), 100)
    .addHelpText('after', '\nExamples:\n  terra file /gantry_data/MovingSensor/stereoTop/2026-11-24/2026-11-24__10-00-00-000/left.bin\n  terra file --prefix /gantry_data/MovingSensor/stereoTop/2026-11-24/ --limit 500 --json\n\nExit status 5 when neither the transfer log nor the ledger knows the path.')
    .action(async (path: string, o: CommonOptions & { site?: string; prefix?: boolean; limit: number }) => {
      if (!path.startsWith('/')) throw usage(`${path}: give an absolute path`);
      const site = o.site !== undefined ? ctx.site(o.site) : siteOfPath(ctx.sites.sites, path);
      if (o.prefix) return listPrefix(ctx, o, path, site?.name, o.limit);
      const q = new URLSearchParams({ path, ...(site ? { site: site.name } : {}) });
      let versions: Version[] = [];
      let logErr: Error | null = null;
      try {
        versions = (await ctx.call<{ versions: Version[] }>('transfer-log', `/api/v1/files?${q}`)).body.versions ?? [];
      } catch (err) {
        logErr = err as Error;
      }
      const logError = logErr?.message ?? null;
      let ledger: LedgerRecord | null = null;
      let ledgerErr: Error | null = null;
      if (site) {
        try {
          ledger = (await ledgerLookup(ctx, site.name, [path])).get(path) ?? null;
        } catch (err) {
          ledgerErr = err as Error;
        }
      }
      // Neither source answered: the log's failure is the one named (its exit code kept: unreachable, token…).
      if (logErr && (ledgerErr || !site)) throw logErr;
      if (ledgerErr && versions.length === 0) throw ledgerErr;
      if (versions.length === 0 && !ledger) throw notFound(`no record of ${path} in the transfer log${site ? ` nor in ${site.name}'s ledger` : ' (and no site\'s cache holds it)'}`, 'UNKNOWN_FILE');
      const latest = versions.at(-1);
      const result = { path, site: site?.name ?? latest?.site ?? null, state: latest?.state ?? ledger?.state ?? null, from: versions.length ? 'transfer-log' : 'ledger', ledger, versions, ...(logError ? { transferLogError: logError } : {}), ...(ledgerErr ? { ledgerError: ledgerErr.message } : {}) };
      ctx.out(o, result, () => [
        `${path}`,
        `  site: ${result.site ?? '?'}    state: ${result.state ?? '?'}${ledger ? `    ledger: ${ledger.state} since ${ledger.updatedAt}${ledger.reason ? ` (${ledger.reason})` : ''}` : ''}`,
        ...(logError ? [`  transfer log unavailable (${logError}): the ledger's record only`] : []),
        ...(ledgerErr ? [`  ledger not consulted: ${ledgerErr.message}`] : []),
        ...versions.flatMap((v) => [
          '',
          `  version ${v.uploadId}: ${v.state} since ${v.stateAt ?? '?'}, ${v.size ?? '?'} bytes, from ${v.source ?? '?'}${v.destinationPath ? `, at ${v.destinationPath}` : ''}${v.failureReason ? `, failed: ${v.failureReason}` : ''}${v.clowderFileId ? `, Clowder file ${v.clowderFileId}` : ''}`,
          ...(v.events ?? []).map((e) => `    ${e.time}  ${e.type}`),
        ]),
      ].join('\n'));
    });
}

async function listPrefix(ctx: Context, o: CommonOptions, prefix: string, site: string | undefined, limit: number): Promise<void> {
  const items: Version[] = [];
  let cursor: string | null | undefined;
  do {
    const q = new URLSearchParams({ prefix, limit: String(Math.min(1000, limit - items.length)), ...(site ? { site } : {}), ...(cursor ? { cursor } : {}) });
    const r = await ctx.call<{ items: Version[]; nextCursor: string | null }>('transfer-log', `/api/v1/files?${q}`);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor && items.length < limit && !ctx.interrupted);
  ctx.out(o, { prefix, items, more: Boolean(cursor) }, () => table(['path', 'state', 'since', 'size'], items.map((v) => [v.path ?? '?', v.state, v.stateAt ?? '', String(v.size ?? '')])) + (cursor ? '\n  (more: raise --limit)' : ''));
}

export function positiveInt(v: string, name: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw usage(`${name} must be a positive integer, got "${v}"`);
  return Number(v);
}
