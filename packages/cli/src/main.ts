#!/usr/bin/env node
import { Context, describeError } from './context.js';
import { fromCommander, buildProgram } from './program.js';

/**
 * `terra`: parses the command line, runs the command, and turns every failure
 * into one line on stderr (and `{"error": …}` on stdout with --json) and an
 * exit code (docs/cli.md). Never a stack trace.
 */
async function main(): Promise<number> {
  const ctx = new Context({ stdout: process.stdout, stderr: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env: process.env });
  process.on('SIGINT', () => ctx.interrupt());
  process.on('SIGTERM', () => ctx.interrupt());
  // A closed pipe (`terra … | head`) ends the output quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const json = process.argv.includes('--json');
  try {
    await buildProgram(ctx).parseAsync(process.argv);
    return 0;
  } catch (err) {
    const commander = fromCommander(err);
    if (commander) {
      // commander has printed its message; a script reading --json still gets the error as JSON.
      if (json && commander.exitCode !== 0) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: (err as Error).message.replace(/^error: /, ''), exitCode: commander.exitCode } })}\n`);
      return commander.exitCode;
    }
    const e = describeError(err);
    if (e.message) {
      process.stderr.write(`terra: ${e.message}\n`);
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message, exitCode: e.exitCode } })}\n`);
    }
    return e.exitCode;
  }
}

process.exitCode = await main();
