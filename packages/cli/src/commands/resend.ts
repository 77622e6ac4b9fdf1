import type { Command } from 'commander';
import type { Context, CommonOptions } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { table } from '../format.js';

/** Paths per manual submission (the cleaner's MAX_SUBMIT_PATHS). */
const SUBMIT_CHUNK = 1000;

export interface SubmitOutcome {
  accepted: Array<{ path: string; size: number; mtimeMs: number; uploadId: string }>;
  refused: Array<{ path: string; code: string; reason: string }>;
}

/** Sends paths through the site cleaner's manual submission endpoint, 1,000 per request; stops between requests on Ctrl-C. */
export async function submit(ctx: Context, o: CommonOptions, site: string, paths: readonly string[], ignoreWhitelist = false): Promise<SubmitOutcome & { interrupted: boolean }> {
  const out: SubmitOutcome = { accepted: [], refused: [] };
  const bar = ctx.progress(o, paths.length, 'sending');
  for (let i = 0; i < paths.length && !ctx.interrupted; i += SUBMIT_CHUNK) {
    const chunk = paths.slice(i, i + SUBMIT_CHUNK);
    const r = await ctx.call<SubmitOutcome>(`cleaner@${site}`, '/api/v1/files', { method: 'POST', body: { site, paths: chunk, ...(ignoreWhitelist ? { ignoreWhitelist } : {}) }, auth: true });
    out.accepted.push(...r.body.accepted);
    out.refused.push(...r.body.refused);
    bar.tick(chunk.length);
  }
  bar.stop();
  return { ...out, interrupted: ctx.interrupted };
}

export function registerResend(program: Command, ctx: Context, common: (c: Command) => Command): void {
  common(program.command('resend'))
    .argument('<paths...>', 'absolute cache paths')
    .description("Send files again through the site cleaner's manual submission endpoint (POST /api/v1/files)")
    .requiredOption('--site <site>', 'the site whose cache holds the files')
    .option('--ignore-whitelist', 'send files outside the whitelisted folders too')
    .addHelpText('after', '\nExample:\n  terra resend --site ua-mac /gantry_data/MovingSensor/stereoTop/2026-11-24/x/left.bin\n\nExit status 1 when any path was refused.')
    .action(async (paths: string[], o: CommonOptions & { site: string; ignoreWhitelist?: boolean }) => {
      ctx.site(o.site);
      ctx.longRunning = paths.length > SUBMIT_CHUNK;
      const r = await submit(ctx, o, o.site, paths, o.ignoreWhitelist);
      ctx.out(o, r, () => [`sent ${r.accepted.length}, refused ${r.refused.length}`, ...(r.refused.length ? [table(['path', 'code', 'reason'], r.refused.map((x) => [x.path, x.code, x.reason]))] : [])].join('\n'));
      if (r.interrupted) throw new CliError('', EXIT.INTERRUPTED, 'INTERRUPTED');
      if (r.refused.length) throw new CliError('', EXIT.FINDINGS, 'REFUSED');
    });
}
