import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ClowderClient } from '@terra-transfer/clowder';
import { destinationRelPath, joinPath, isHidden } from '@terra-transfer/site-layout';
import { ownedRoot, type Site } from '@terra-transfer/sites';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT, unreachable, usage } from '../errors.js';
import { bytes, table } from '../format.js';
import { belongsTo, compare, DATED, registeredAsFile, type Sighting } from '../core/verify.js';
import { parseWhen } from '../core/replay.js';

/** Files of `day` under `dir` (relative to `base`): dated folders of other days are not entered. */
async function* dayFiles(dir: string, rel: string, day: string, interrupted: () => boolean): AsyncGenerator<{ rel: string; size: number }> {
  if (interrupted()) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (isHidden(r)) continue;
    if (e.isDirectory()) {
      if (DATED.test(e.name) && !e.name.startsWith(day)) continue;
      yield* dayFiles(join(dir, e.name), r, day, interrupted);
    } else if (e.isFile() && belongsTo(r, day)) {
      const st = await lstat(join(dir, e.name)).catch(() => null);
      if (st?.isFile()) yield { rel: r, size: st.size };
    }
  }
}

/** The destination tree as mounted here: the Clowder ingest's localRoot, else the destination root. */
const destinationRoot = (s: Site) => s.clowder.localRoot ?? s.destinations.find((d) => d.name === s.clowder.destination)?.root ?? s.destinations[0]!.root;

async function clowderFiles(ctx: Context, site: Site, day: string, url: string): Promise<Sighting[]> {
  const client = new ClowderClient({ url, key: ctx.cfg.CLOWDER_KEY ?? '', timeoutMs: ctx.cfg.HTTP_TIMEOUT_MS, retries: 1 });
  const root = site.clowder.collectionRoot.replace(/\/+$/, '');
  const out: Sighting[] = [];
  try {
    for (const d of await client.searchDatasets(day)) {
      if (!d.name.includes(day)) continue;
      for (const f of await client.listFiles(d.id)) {
        if (!f.filepath?.startsWith(`${root}/`)) continue;
        const rel = f.filepath.slice(root.length + 1);
        if (belongsTo(rel, day)) out.push({ rel, size: f.size });
      }
    }
  } catch (err) {
    throw unreachable(`Clowder at ${url}: ${(err as Error).message.split('\n')[0]}`);
  }
  return out;
}

export function registerVerify(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('verify'))
    .description('For one day: files in the cache vs at the destination vs registered in Clowder (counts and bytes per sensor), and every file that differs')
    .requiredOption('--site <site>', 'the site')
    .requiredOption('--date <day>', 'the day, YYYY-MM-DD (files under a folder of that date)')
    .addHelpText('after', '\nExample:\n  terra verify --site ua-mac --date 2026-11-24\n\nReads the cache and the destination tree as mounted on this machine, and Clowder (CLOWDER_URL, CLOWDER_KEY).\nExit status 1 when a file differs.')
    .action(async (o: CommonOptions & { site: string; date: string }) => {
      const site = ctx.site(o.site);
      if (!Number.isFinite(parseWhen(o.date, false)) || !/^\d{4}-\d{2}-\d{2}$/.test(o.date)) throw usage(`--date "${o.date}" is not a day (YYYY-MM-DD)`);
      const day = o.date;
      ctx.longRunning = true;
      const stop = () => ctx.interrupted;
      const cacheRoot = ownedRoot(site.source).root;
      const cache: Sighting[] = [];
      for (const w of site.whitelist) {
        for await (const f of dayFiles(joinPath(cacheRoot, w), w, day, stop)) cache.push({ rel: destinationRelPath(f.rel), size: f.size });
      }
      const destination: Sighting[] = [];
      for await (const f of dayFiles(destinationRoot(site), '', day, stop)) destination.push(f);
      const clowder = ctx.cfg.CLOWDER_URL !== undefined ? await clowderFiles(ctx, site, day, ctx.cfg.CLOWDER_URL) : null;
      if (ctx.interrupted) throw new CliError('interrupted: no verdict', EXIT.INTERRUPTED, 'INTERRUPTED');
      const r = compare(cache, destination, clowder, (rel) => registeredAsFile(rel, site.clowder.metadataAsFile));
      const result = { site: site.name, date: day, clowderChecked: clowder !== null, ...r };
      ctx.out(o, result, () => [
        `${site.name} ${day}${clowder === null ? ' (Clowder not checked: set CLOWDER_URL and CLOWDER_KEY)' : ''}`,
        table(['sensor', 'cache', 'destination', 'clowder'], r.sensors.map((s) => [s.sensor, `${s.cache.files} (${bytes(s.cache.bytes)})`, `${s.destination.files} (${bytes(s.destination.bytes)})`, clowder ? `${s.clowder.files} (${bytes(s.clowder.bytes)})` : '-'])),
        r.differences.length ? `\n${r.differences.length} file(s) differ:\n${table(['file', 'problem', 'detail'], r.differences.map((d) => [d.rel, d.problem, d.detail]))}` : '\nno differences',
      ].join('\n'));
      if (r.differences.length) throw new CliError('', EXIT.FINDINGS, 'DIFFERENCES');
    });
}
