import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built bin, run as an operator runs it: a real process, stdin not a terminal, stdout piped. */
export const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface Run { code: number | null; stdout: string; stderr: string; json: () => any }

export function terra(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'], ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) });
    });
  });
}

/** A failure as the issue wants it: one line on stderr naming the problem, no stack trace. */
export function expectOneLineError(r: Run, code: number, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect({ code: r.code, lines: lines.length, stack: /\n\s+at /.test(r.stderr) }).toEqual({ code, lines: 1, stack: false });
  expect(lines[0]).toMatch(/^terra: /);
  expect(lines[0]).toMatch(pattern);
}
