import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { joinPath } from '@terra-transfer/site-layout';
import { DEFAULT_ROTATED_SUFFIX, rotatedGenerations, rotatedSuffixRegex } from '@terra-transfer/xferlog';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT, notFound, usage } from '../errors.js';
import { table } from '../format.js';
import { decide, newScan, parseWhen, scanLine, type ScanState, type Verdict } from '../core/replay.js';
import { ledgerLookup } from './file.js';
import { submit } from './resend.js';

/** The site's log files, oldest first: rotated generations (plain or gzipped), then the current log. */
export async function logFiles(xferlog: string, suffix: string | undefined): Promise<string[]> {
  const dir = dirname(xferlog);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    throw notFound(`cannot read the log folder ${dir}: ${err.code ?? err.message}`, 'NO_LOGS');
  });
  const gens = rotatedGenerations(basename(xferlog), names, rotatedSuffixRegex(suffix ?? DEFAULT_ROTATED_SUFFIX));
  // While logrotate compresses, x.1 and x.1.gz both exist: the plain one is read, the gz skipped.
  const seen = new Set<number>();
  const files = gens.filter((g) => (seen.has(g.age) ? false : (seen.add(g.age), true))).map((g) => join(dir, g.name));
  if (names.includes(basename(xferlog))) files.push(xferlog);
  return files;
}

/** Streams one log (gunzipped when .gz) line by line, as latin1; stops early when `stop` aborts (Ctrl-C), even while no line comes. */
export async function readLog(file: string, each: (line: string) => void, stop: AbortSignal): Promise<void> {
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  stream.setEncoding('latin1');
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  await new Promise<void>((resolve, reject) => {
    raw.on('error', reject);
    stream.on('error', reject);
    const halt = () => {
      rl.close();
      raw.destroy();
    };
    rl.on('close', () => {
      stop.removeEventListener('abort', halt);
      resolve();
    });
    rl.on('line', (line) => {
      if (!stop.aborted) each(line);
    });
    if (stop.aborted) halt();
    else stop.addEventListener('abort', halt, { once: true });
  });
}

export function registerReplay(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('replay'))
    .description("Re-read the site's xferlog (current, rotated and gzipped) for a time range and send what the ledger says was never transferred (idempotent)")
    .requiredOption('--site <site>', 'an xferlog site')
    .requiredOption('--from <when>', 'start: a UTC day (YYYY-MM-DD) or an ISO time')
    .requiredOption('--to <when>', 'end: a UTC day (inclusive) or an ISO time (exclusive)')
    .option('--dry-run', 'list what would be sent; send nothing')
    .addHelpText('after', '\nExamples:\n  terra replay --site ua-mac --from 2026-11-24 --to 2026-11-25 --dry-run\n  terra replay --site ua-mac --from 2026-11-24T10:00:00Z --to 2026-11-24T12:00:00Z --json\n\nExit status 5 when the logs do not cover the range, 1 when a file to send was refused or is missing from the cache.')
    .action(async (o: CommonOptions & { site: string; from: string; to: string; dryRun?: boolean }) => {
      const site = ctx.site(o.site);
      if (site.source.kind !== 'xferlog') throw notFound(`site ${site.name} has a ${site.source.kind} source, not an xferlog: nothing to replay`, 'NOT_XFERLOG_SITE');
      const src = site.source;
      const from = parseWhen(o.from, false);
      const to = parseWhen(o.to, true);
      if (!Number.isFinite(from)) throw usage(`--from "${o.from}" is not a day (YYYY-MM-DD) nor an ISO time`);
      if (!Number.isFinite(to)) throw usage(`--to "${o.to}" is not a day (YYYY-MM-DD) nor an ISO time`);
      if (from >= to) throw usage('--from must be before --to');
      ctx.longRunning = true;

      const files = await logFiles(src.xferlog, src.rotatedSuffix);
      if (files.length === 0) throw notFound(`no xferlog for site ${site.name} at ${src.xferlog} (nor rotated ones)`, 'NO_LOGS');
      const scan: ScanState = newScan();
      const opts = { from, to, timeZone: src.timezone, mapping: { ftpRoot: src.ftpRoot, userRoots: src.ftpUserRoots }, whitelist: site.whitelist };
      const bar = ctx.progress(o, files.length, 'reading logs');
      for (const f of files) {
        if (ctx.interrupted) break;
        await readLog(f, (line) => scanLine(scan, line, opts), ctx.stopSignal.signal);
        bar.tick();
      }
      bar.stop();
      if (ctx.interrupted) throw new CliError('interrupted while reading the logs: nothing was sent', EXIT.INTERRUPTED, 'INTERRUPTED');
      const covered = scan.earliest !== null && scan.latest !== null ? { from: new Date(scan.earliest).toISOString(), to: new Date(scan.latest).toISOString() } : null;
      // The logs must reach back to the range's start (to its day: a quiet morning is not a gap) and overlap it.
      if (!covered || scan.latest! < from || Math.floor(scan.earliest! / 86_400_000) * 86_400_000 > from) {
        throw notFound(`the logs of site ${site.name} (${files.length} file(s)) ${covered ? `cover ${covered.from} to ${covered.to}` : 'hold no readable line'}, not ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`, 'RANGE_NOT_COVERED');
      }

      // The ledger and the disk decide what was never transferred.
      const root = src.cacheRoot.replace(/\/+$/, '');
      const uploads = [...scan.uploads.values()].map((u) => ({ ...u, path: joinPath(root, u.rel) }));
      const records = await ledgerLookup(ctx, site.name, uploads.map((u) => u.path));
      const verdicts = new Map<Verdict, string[]>([['send', []], ['transferred', []], ['in_pipeline', []], ['missing', []]]);
      for (const u of uploads) {
        const st = await lstat(u.path).catch(() => null);
        const disk = st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
        verdicts.get(decide(records.get(u.path) ?? null, disk))!.push(u.path);
      }
      const toSend = verdicts.get('send')!;
      const sent = o.dryRun || toSend.length === 0 ? { accepted: [], refused: [], interrupted: false } : await submit(ctx, o, site.name, toSend);
      const summary = {
        site: site.name, from: new Date(from).toISOString(), to: new Date(to).toISOString(), dryRun: Boolean(o.dryRun), logFiles: files, covered,
        lines: scan.lines, unparsed: scan.unparsed, uploadsInRange: scan.uploadsInRange, ignored: scan.ignored, files: uploads.length,
        alreadyTransferred: verdicts.get('transferred')!.length, inPipeline: verdicts.get('in_pipeline')!.length, missingFromCache: verdicts.get('missing')!,
        toSend: toSend.length, sent: sent.accepted.map((a) => a.path), refused: sent.refused,
      };
      ctx.out(o, summary, () => [
        `${site.name}: ${scan.lines} log lines in ${files.length} file(s); ${uploads.length} files uploaded ${summary.from} – ${summary.to}`,
        `  already transferred ${summary.alreadyTransferred}, in the pipeline ${summary.inPipeline}, missing from the cache ${summary.missingFromCache.length}, never transferred ${toSend.length}`,
        o.dryRun ? `  would send ${toSend.length}${toSend.length ? `:\n${toSend.map((p) => `    ${p}`).join('\n')}` : ''}` : `  sent ${sent.accepted.length}, refused ${sent.refused.length}`,
        ...(sent.refused.length ? [table(['path', 'code', 'reason'], sent.refused.map((r) => [r.path, r.code, r.reason]))] : []),
      ].join('\n'));
      if (sent.interrupted) throw new CliError('', EXIT.INTERRUPTED, 'INTERRUPTED');
      if (sent.refused.length || summary.missingFromCache.length) throw new CliError('', EXIT.FINDINGS, 'FINDINGS');
    });
}
