import type { Command } from 'commander';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { table } from '../format.js';

interface FailedFile { path: string; size: number; reason: string; detail: string; attempts: number; giveUps: number; failedAt: string; nextResendAt: string }

/** Files above which `failed --resend` asks first. */
const CONFIRM_ABOVE = 1000;

async function listFailed(ctx: Context, site: string): Promise<{ total: number; items: FailedFile[] }> {
  const items: FailedFile[] = [];
  let offset: number | null = 0;
  let total = 0;
  while (offset !== null && !ctx.interrupted) {
    const r: { body: { total: number; nextOffset: number | null; items: FailedFile[] } } = await ctx.call(`cleaner@${site}`, `/api/v1/files/failed?offset=${offset}&limit=1000`);
    items.push(...r.body.items);
    total = r.body.total;
    offset = r.body.nextOffset;
  }
  return { total, items };
}

export function registerFailed(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('failed'))
    .description('Files given up after their last transfer attempt, with reasons (each site\'s cleaner); --resend sends them now')
    .option('--site <site>', 'only this site')
    .option('--resend', 'send the failed files again now (asks first above 1,000 files unless --yes)')
    .option('--yes', 'do not ask')
    .addHelpText('after', '\nExamples:\n  terra failed --site ua-mac\n  terra failed --site ua-mac --resend --yes --json')
    .action(async (o: CommonOptions & { site?: string; resend?: boolean; yes?: boolean }) => {
      const sites = ctx.sitesOrAll(o.site);
      const lists = await Promise.all(sites.map(async (s) => ({ site: s.name, ...(await listFailed(ctx, s.name)) })));
      if (!o.resend) {
        ctx.out(o, lists, () => lists.map((l) => `${l.site}: ${l.items.length} failed\n${table(['path', 'reason', 'give-ups', 'failed at', 'next resend'], l.items.map((f) => [f.path, `${f.reason} ${f.detail}`.trim().slice(0, 80), String(f.giveUps), f.failedAt, f.nextResendAt]))}`).join('\n\n'));
        return;
      }
      const count = lists.reduce((n, l) => n + l.items.length, 0);
      if (count > CONFIRM_ABOVE) await ctx.confirm(`Send ${count} failed files again now?`, o.yes);
      const results: Array<{ site: string } & Record<string, unknown>> = [];
      for (const l of lists) {
        if (l.items.length === 0) { results.push({ site: l.site, requested: 0 }); continue; }
        const r = await ctx.call<Record<string, number>>(`cleaner@${l.site}`, '/api/v1/files/failed/resend', { method: 'POST', body: {}, auth: true });
        results.push({ site: l.site, ...r.body });
      }
      ctx.out(o, results, () => results.map((r) => `${r.site}: ${Object.entries(r).filter(([k]) => k !== 'site').map(([k, v]) => `${k} ${v}`).join(', ')}`).join('\n'));
      if (ctx.interrupted) throw new CliError('', EXIT.INTERRUPTED, 'INTERRUPTED');
    });
}
