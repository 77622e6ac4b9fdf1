import { Command, CommanderError, Option } from 'commander';
import type { Context } from './context.js';
import { CliError, EXIT } from './errors.js';
import { registerCompletion } from './commands/completion.js';
import { registerDlq } from './commands/dlq.js';
import { registerFailed } from './commands/failed.js';
import { registerFile } from './commands/file.js';
import { registerReplay } from './commands/replay.js';
import { registerResend } from './commands/resend.js';
import { registerSites } from './commands/sites.js';
import { registerStatus } from './commands/status.js';
import { registerSweep } from './commands/sweep.js';
import { registerVerify } from './commands/verify.js';
import { describeConfig } from '@terra-transfer/platform';
import { cliSettings } from './settings.js';

/** Options every command takes. */
function common(c: Command): Command {
  return c.addOption(new Option('--json', 'machine-readable output (one JSON document on stdout)'));
}

/** The whole command tree; `main.ts` parses argv with it, the tests inspect it. */
export function buildProgram(ctx: Context): Command {
  const program = new Command('terra')
    .description("terra-transfer's operator command line: it talks to the services' HTTP APIs, the transfer log and RabbitMQ's management API, configured by the services' environment (SITES_FILE, AMQP_URL, AMQP_PREFIX, API_TOKEN, SERVICE_URLS…)")
    .version('0.1.0')
    .showHelpAfterError('(terra --help lists the commands)')
    .configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) })
    .exitOverride()
    .addHelpText('after', `
Examples:
  terra status
  terra file /gantry_data/MovingSensor/stereoTop/2026-11-24/x/left.bin
  terra dlq list
  terra replay --site ua-mac --from 2026-11-24 --to 2026-11-25 --dry-run
  terra verify --site ua-mac --date 2026-11-24

Exit status: 0 ok; 1 findings (not ready, dead letters, differences, refusals); 2 usage; 3 a service unreachable;
4 token refused; 5 unknown site / queue / file, range not covered; 6 not confirmed; 78 bad configuration; 130 interrupted.

Settings (environment):
${describeConfig(cliSettings).split('\n').map((l) => `  ${l}`).join('\n')}`);
  for (const register of [registerStatus, registerFile, registerDlq, registerResend, registerFailed, registerReplay, registerSweep, registerVerify, registerSites]) register(program, ctx, common);
  registerCompletion(program, ctx);
  // Subcommands report usage errors through the same override.
  const override = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Commander's own exits (help, version, usage errors) as ours. */
export function fromCommander(err: unknown): CliError | null {
  if (!(err instanceof CommanderError)) return null;
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return new CliError('', EXIT.OK, 'OK');
  if (err.exitCode === 0) return new CliError('', EXIT.OK, 'OK');
  return new CliError('', EXIT.USAGE, 'USAGE');
}
