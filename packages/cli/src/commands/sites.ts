import type { Command } from 'commander';
import { ownedRoot } from '@terra-transfer/sites';
import type { Context, CommonOptions } from '../context.js';
import { table } from '../format.js';

export function registerSites(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('sites'))
    .description('The configured sites (SITES_FILE) and their sources, destinations and deletion policy')
    .addHelpText('after', '\nExamples:\n  terra sites\n  SITES_FILE=/etc/terra/sites.yaml terra sites --json')
    .action((o: CommonOptions) => {
      const rows = ctx.sites.sites.map((s) => ({
        name: s.name, source: s.source.kind, root: ownedRoot(s.source).root, ...(s.source.kind === 'xferlog' ? { xferlog: s.source.xferlog } : {}),
        whitelist: s.whitelist, destinations: s.destinations.map((d) => ({ name: d.name, endpoint: d.endpoint, root: d.root })), deletion: s.deletion.policy,
      }));
      ctx.out(o, rows, () => table(['site', 'source', 'root', 'log', 'destinations', 'deletion'], rows.map((r) => [r.name, r.source, r.root, r.xferlog ?? '-', r.destinations.map((d) => `${d.name}:${d.root}`).join(', '), r.deletion])));
    });
}
