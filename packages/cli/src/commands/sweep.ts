import { setTimeout as sleep } from 'node:timers/promises';
import { sameVersion } from '@terra-transfer/ledger';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isHidden, joinPath } from '@terra-transfer/site-layout';
import { ownedRoot, type Site } from '@terra-transfer/sites';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT, notFound } from '../errors.js';
import { table } from '../format.js';
import { ledgerLookup } from './file.js';

interface SweepStatus { id: string; trigger: string; state: 'running' | 'succeeded' | 'failed'; startedAt: string; finishedAt: string | null; durationSeconds: number | null; counts: Record<string, number>; error: string | null }

const sweepSettings = (s: Site) => (s.deletion.policy === 'delete-after-verified-transfer' ? s.deletion.sweep : null);

async function latest(ctx: Context, site: string): Promise<SweepStatus | null> {
  const r = await ctx.call<SweepStatus>(`cleaner@${site}`, '/api/v1/sweeps/latest', { accept: [404] });
  return r.status === 404 ? null : r.body;
}

const describeSweep = (s: SweepStatus | null) => (s === null ? 'no sweep has run yet'
  : `sweep ${s.id} (${s.trigger}) ${s.state}, started ${s.startedAt}${s.finishedAt ? `, finished ${s.finishedAt} (${s.durationSeconds?.toFixed(1)} s)` : ''}: `
    + `scanned ${s.counts['scanned'] ?? 0}, sent ${s.counts['sent'] ?? 0}, transferred ${s.counts['transferred'] ?? 0}, in flight ${s.counts['in_flight'] ?? 0}${s.error ? `; error: ${s.error}` : ''}`);

export function registerSweep(program: Command, ctx: Context, common: (c: Command) => Command): void {
  const sweep = program.command('sweep').description('Run or preview the cleaner\'s sweep (files never sent), or show the latest one');

  common(sweep.command('run', { isDefault: true }))
    .description('With --now: start a sweep of the site and wait for its result; with --dry-run: list what a sweep would send; neither: the schedule and the latest sweep')
    .requiredOption('--site <site>', 'the site')
    .option('--now', 'start a sweep now and follow it to the end')
    .option('--dry-run', "preview: walk the site's whitelisted folders here and list the old files the ledger has no record of")
    .addHelpText('after', '\nExamples:\n  terra sweep --site ua-mac --dry-run\n  terra sweep --site ua-mac --now\n  terra sweep status --site ua-mac')
    .action(async (o: CommonOptions & { site: string; now?: boolean; dryRun?: boolean }) => {
      const site = ctx.site(o.site);
      const settings = sweepSettings(site);
      if (o.dryRun) return preview(ctx, o, site);
      if (!o.now) {
        const l = await latest(ctx, site.name);
        ctx.out(o, { site: site.name, schedule: settings, latest: l }, () => `${site.name}: ${settings ? `sweeps files older than ${settings.minAgeMinutes} min, every ${settings.intervalMinutes} min${settings.dailyAt ? ` and daily at ${settings.dailyAt}` : ''}` : 'no scheduled sweep (deletion policy never)'}\n${describeSweep(l)}\n(--now starts one, --dry-run previews)`);
        return;
      }
      const started = await ctx.call<{ id: string; error?: string; message?: string }>(`cleaner@${site.name}`, '/api/v1/sweeps', { method: 'POST', auth: true, accept: [409] });
      if (started.status === 409) throw new CliError(`a sweep of ${site.name} is already running: \`terra sweep status --site ${site.name}\``, EXIT.FINDINGS, 'SWEEP_RUNNING');
      ctx.longRunning = true;
      ctx.note(o, `sweep ${started.body.id} started (Ctrl-C stops waiting; the sweep goes on)`);
      let s: SweepStatus | null = null;
      while (!ctx.interrupted) {
        s = await latest(ctx, site.name);
        if (s && s.id === started.body.id && s.state !== 'running') break;
        await sleep(500);
      }
      ctx.out(o, s, () => describeSweep(s));
      if (ctx.interrupted) throw new CliError('', EXIT.INTERRUPTED, 'INTERRUPTED');
      if (s?.state === 'failed') throw new CliError('', EXIT.FINDINGS, 'SWEEP_FAILED');
    });

  common(sweep.command('status'))
    .description('The latest sweep of each site (or one): state, counts, duration')
    .option('--site <site>', 'only this site')
    .addHelpText('after', '\nExample:\n  terra sweep status --site ua-mac --json')
    .action(async (o: CommonOptions & { site?: string }) => {
      const rows = await Promise.all(ctx.sitesOrAll(o.site).map(async (s) => ({ site: s.name, latest: await latest(ctx, s.name) })));
      ctx.out(o, rows, () => rows.map((r) => `${r.site}: ${describeSweep(r.latest)}`).join('\n'));
    });
}

/** Regular, non-hidden files under the site's whitelisted folders, with mtime. Symlinks are not followed (as the sweep). */
async function* walk(dir: string, rel: string): AsyncGenerator<{ path: string; rel: string; size: number; mtimeMs: number }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (isHidden(r)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p, r);
    else if (e.isFile()) {
      const st = await lstat(p).catch(() => null);
      if (st?.isFile()) yield { path: p, rel: r, size: st.size, mtimeMs: st.mtimeMs };
    }
  }
}

async function preview(ctx: Context, o: CommonOptions, site: Site): Promise<void> {
  const settings = sweepSettings(site);
  if (!settings) throw notFound(`site ${site.name} deletes nothing (policy never) and has no sweep`, 'NO_SWEEP');
  const root = ownedRoot(site.source).root.replace(/\/+$/, '');
  const cutoff = Date.now() - settings.minAgeMinutes * 60_000;
  const old: Array<{ path: string; size: number; mtimeMs: number }> = [];
  ctx.longRunning = true;
  for (const w of site.whitelist) {
    for await (const f of walk(joinPath(root, w), w)) {
      if (ctx.interrupted) break;
      if (f.mtimeMs <= cutoff) old.push(f);
    }
  }
  const records = await ledgerLookup(ctx, site.name, old.map((f) => f.path));
  const wouldSend = old.filter((f) => {
    const r = records.get(f.path);
    return !r || !sameVersion(r, f);
  });
  ctx.out(o, { site: site.name, minAgeMinutes: settings.minAgeMinutes, old: old.length, wouldSend: wouldSend.map((f) => ({ path: f.path, size: f.size, mtime: new Date(f.mtimeMs).toISOString() })) },
    () => `${site.name}: ${old.length} files older than ${settings.minAgeMinutes} min; a sweep would send ${wouldSend.length} (no ledger record of this version)\n${table(['path', 'size', 'mtime'], wouldSend.slice(0, 200).map((f) => [f.path, String(f.size), new Date(f.mtimeMs).toISOString()]))}`);
}
