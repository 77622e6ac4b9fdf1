import type { Command } from 'commander';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { bashCompletion, type CommandNode } from '../core/completion.js';

/** The commander tree as plain data (hidden `help` commands left out). */
function commandTree(c: Command): CommandNode {
  return {
    name: c.name(),
    options: c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))).concat('--help'),
    subcommands: c.commands.filter((s) => s.name() !== 'help').map(commandTree),
  };
}

export function registerCompletion(program: Command, ctx: Context): void {
  program.command('completion')
    .argument('<shell>', 'bash (the only one generated; zsh can load it with bashcompinit)')
    .description('Print a shell completion script, generated from the command tree')
    .option('--json', 'print the command tree as JSON instead')
    .addHelpText('after', '\nExamples:\n  terra completion bash > /etc/bash_completion.d/terra\n  source <(terra completion bash)')
    .action((shell: string, o: { json?: boolean }) => {
      if (o.json) return void ctx.io.stdout.write(`${JSON.stringify(commandTree(program), null, 2)}\n`);
      if (shell !== 'bash') throw usage(`no completion for shell "${shell}": only bash (zsh: autoload bashcompinit && bashcompinit, then the bash script)`);
      ctx.io.stdout.write(bashCompletion(commandTree(program)));
    });
}
