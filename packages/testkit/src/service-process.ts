/* A service's built entry point (dist/main.js) run as a process, for start-up and shutdown tests. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  proc: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far. */
  stderr: () => string;
}

/** Starts `node <main>` with only PATH, LOG_LEVEL=warn and `env` in its environment. */
export function runServiceMain(main: string, env: Record<string, string>): ServiceProcess {
  const proc = spawn(process.execPath, [main], { env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, exited, stderr: () => stderr };
}
