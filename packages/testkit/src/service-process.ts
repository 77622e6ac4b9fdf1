/* A service's built entry point (dist/main.js) run as a process, for start-up and shutdown tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './basics.js';

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

/** A running service's probes and metrics on its HTTP port (a process under test). */
export function serviceProbe(port: number) {
  const base = `http://127.0.0.1:${port}`;
  return {
    /** /healthz's status (0 while nothing answers). */
    health: async () => (await fetch(`${base}/healthz`).catch(() => null))?.status ?? 0,
    /** /readyz's status and checks (0 and none while nothing answers). */
    ready: async (): Promise<{ status: number; checks: Record<string, boolean> }> => {
      const r = await fetch(`${base}/readyz`).catch(() => null);
      return r ? { status: r.status, checks: ((await r.json()) as { checks: Record<string, boolean> }).checks } : { status: 0, checks: {} };
    },
    /** The sum of every series of a metric (0 when it has none yet). */
    metric: async (name: string): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    },
  };
}
export type ServiceProbe = ReturnType<typeof serviceProbe>;

/** Waits until a second instance of a leader-locked service is connected and stands by: broker and Redis up, `leader` false. */
export async function waitForStandby(p: ServiceProbe, timeoutMs = 30_000): Promise<void> {
  await waitFor('the second stands by', async () => {
    const r = await p.ready();
    return r.checks['broker'] === true && r.checks['redis'] === true && r.checks['leader'] === false;
  }, timeoutMs, 100);
}

/** kill -9 (nothing handed over) and wait for the exit; returns when it died (ms). */
export async function killHard(p: ServiceProcess): Promise<number> {
  const exited = p.exited;
  p.proc.kill('SIGKILL');
  await exited;
  return Date.now();
}
