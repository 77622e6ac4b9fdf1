import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a service’s compiled entry point (build first: `make build`). */
export function serviceEntry(service: string): string {
  return fileURLToPath(new URL(`../../../services/${service}/dist/main.js`, import.meta.url));
}

/**
 * A service run as its own process, as in production: started, stopped with
 * SIGTERM, or killed with SIGKILL and started again with the same settings.
 * The last lines of its output are kept for failure messages.
 */
export class ServiceProcess {
  private proc: ChildProcess | undefined;
  private lines: string[] = [];
  private exits = 0;
  /** Set when this harness itself stops or kills the current process: that exit is not the service's own. */
  private life = { exitRequested: false };
  /** Exits nobody asked for (a crash, an exit on an error the service gave up on), newest last. */
  readonly ownExits: Array<{ at: number; code: number | null; signal: string | null; tail: string }> = [];
  /** Called after an exit nobody asked for (a supervisor restarts the process). */
  onOwnExit: ((p: ServiceProcess) => void) | undefined;

  private logStream: WriteStream | undefined;

  constructor(
    readonly name: string,
    private readonly entry: string,
    public env: Record<string, string>,
    /** Also append everything the process prints to this file. */
    readonly logFile?: string,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(extraEnv: Record<string, string> = {}): this {
    if (this.running) throw new Error(`${this.name} is already running`);
    // STACK_NODE_ARGS: options for node itself (a benchmark's --cpu-prof, which Node 20 refuses in NODE_OPTIONS).
    const nodeArgs = (this.env['STACK_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...nodeArgs, this.entry], {
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.logFile && !this.logStream) this.logStream = createWriteStream(this.logFile, { flags: 'a' });
    const keep = (d: Buffer) => {
      this.logStream?.write(d);
      for (const l of d.toString().split('\n')) if (l) this.lines.push(l);
      if (this.lines.length > 400) this.lines.splice(0, this.lines.length - 400);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    // One flag per process: a late event of a killed process must not read its successor's.
    const life = { exitRequested: false };
    this.life = life;
    proc.on('exit', () => this.exits++);
    // 'close' comes after the last output, so the tail shows why it exited.
    proc.on('close', (code, signal) => {
      if (life.exitRequested) return;
      this.ownExits.push({ at: Date.now(), code, signal, tail: this.lines.slice(-10).join('\n') });
      this.onOwnExit?.(this);
    });
    this.proc = proc;
    return this;
  }

  /** Resolves when GET /readyz answers 200 (the process exiting first is an error). */
  async waitReady(port: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.output()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.output()}`);
  }

  /** Resolves with the exit code (or signal) once the process is gone. */
  async exited(): Promise<number | string | null> {
    const p = this.proc;
    if (!p) return null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode ?? p.signalCode;
    return new Promise((resolve) => p.once('exit', (code, signal) => resolve(code ?? signal)));
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    const done = this.exited();
    this.life.exitRequested = true;
    this.proc!.kill('SIGKILL');
    await done;
  }

  /** SIGTERM and wait (graceful shutdown). */
  async stop(timeoutMs = 30_000): Promise<number | string | null> {
    if (!this.running) return this.proc?.exitCode ?? null;
    const done = this.exited();
    this.life.exitRequested = true;
    this.proc!.kill('SIGTERM');
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), timeoutMs);
    try {
      return await done;
    } finally {
      clearTimeout(t);
    }
  }

  output(): string {
    return this.lines.slice(-60).join('\n');
  }

  /** Lines of output that parse as JSON log records with this `msg`. */
  logged(msg: string): Array<Record<string, unknown>> {
    return this.lines.flatMap((l) => {
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return o['msg'] === msg ? [o] : [];
      } catch {
        return [];
      }
    });
  }
}
