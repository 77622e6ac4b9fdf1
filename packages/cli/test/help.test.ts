/** `terra --help` lists every command of the issue, every command takes --json, and the completion script knows them all. */
import { terra } from './run.js';

const COMMANDS = ['status', 'file', 'dlq list', 'dlq show', 'dlq redrive', 'dlq purge', 'resend', 'failed', 'replay', 'sweep run', 'sweep status', 'verify', 'sites', 'completion'];

it('terra --help lists every command and each command accepts --json', async () => {
  const top = await terra(['--help']);
  expect(top.code).toBe(0);
  for (const c of new Set(COMMANDS.map((x) => x.split(' ')[0]!))) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  const dlq = await terra(['dlq', '--help']);
  for (const c of ['list', 'show', 'redrive', 'purge']) expect(dlq.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  const sweep = await terra(['sweep', '--help']);
  for (const c of ['run', 'status']) expect(sweep.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  for (const c of COMMANDS) {
    const r = await terra([...c.split(' '), '--help']);
    expect({ c, code: r.code }).toEqual({ c, code: 0 });
    expect({ c, json: r.stdout.includes('--json'), examples: /\nExamples?:\n {2}terra /.test(r.stdout) }).toEqual({ c, json: true, examples: true });
  }
}, 120_000);

it('the bash completion script is generated from the command tree', async () => {
  const r = await terra(['completion', 'bash']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('complete -F _terra_complete terra');
  expect(r.stdout).toContain('"dlq") words="list show redrive purge --help"');
  expect(r.stdout).toMatch(/"replay"\) words=".*--from.*--to.*--dry-run/);
  const tree = (await terra(['completion', 'bash', '--json'])).json();
  expect(tree.subcommands.map((s: { name: string }) => s.name)).toEqual(['status', 'file', 'dlq', 'resend', 'failed', 'replay', 'sweep', 'verify', 'sites', 'completion']);
});

it('usage errors and bad configuration exit 2 and 78 with one line', async () => {
  const u = await terra(['replay', '--site', 'x']);
  expect(u.code).toBe(2);
  const c = await terra(['sites']);
  expect(c.code).toBe(78);
  expect(c.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^terra: invalid configuration: SITES_FILE is required/)]);
});
