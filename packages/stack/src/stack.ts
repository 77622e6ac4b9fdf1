import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceProcess, serviceEntry } from './process.js';

/** Ids and secrets of the local stack: the simulators accept exactly these. Not for production. */
export const LOCAL = {
  sourceEndpoint: 'aaaaaaaa-0000-4000-8000-00000000cafe',
  destinationEndpoint: 'bbbbbbbb-0000-4000-8000-00000000beef',
  globusClientId: 'cccccccc-0000-4000-8000-0000000c11e7',
  globusClientSecret: 'local-globus-secret',
  globusIdentity: 'dddddddd-0000-4000-8000-000000001d00',
  apiToken: 'local-api-token',
  simAdminToken: 'local-sim-admin-token',
} as const;

export interface ServiceSpec {
  /** The process's name (one service may run as several processes, e.g. a cleaner per site) */
  name: string;
  /** The service it runs (services/<service>/dist/main.js); default: `name` */
  service?: string;
  port: number;
  env: Record<string, string>;
  /** Started before the services (simulators) */
  infra?: boolean;
}

export interface StackLayout {
  workDir: string;
  cacheRoot: string;
  destRoot: string;
  logDir: string;
  stateDir: string;
}

export function layout(workDir: string): StackLayout {
  return { workDir, cacheRoot: join(workDir, 'cache'), destRoot: join(workDir, 'hpc'), logDir: join(workDir, 'ftp-log'), stateDir: join(workDir, 'state') };
}

/**
 * The whole stack as separate processes, each started as in production
 * (`node services/<name>/dist/main.js` with its environment): start, stop
 * (SIGTERM), kill -9, restart. Simulators start first and stop last.
 */
export class Stack {
  readonly procs = new Map<string, ServiceProcess>();

  constructor(
    readonly specs: ServiceSpec[],
    /** When set, each process's output is also appended to <logDir>/<name>.log */
    logDir?: string,
  ) {
    for (const s of specs) {
      this.procs.set(s.name, new ServiceProcess(s.name, serviceEntry(s.service ?? s.name), { HTTP_PORT: String(s.port), ...s.env }, logDir ? join(logDir, `${s.name}.log`) : undefined));
    }
  }

  spec(name: string): ServiceSpec {
    const s = this.specs.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in this stack`);
    return s;
  }

  proc(name: string): ServiceProcess {
    this.spec(name);
    return this.procs.get(name)!;
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.spec(name).port}`;
  }

  async start(): Promise<void> {
    for (const group of [this.specs.filter((s) => s.infra), this.specs.filter((s) => !s.infra)]) {
      await Promise.all(group.map(async (s) => {
        const p = this.procs.get(s.name)!;
        if (!p.running) p.start();
        await p.waitReady(s.port, 60_000);
      }));
    }
  }

  async restart(name: string): Promise<void> {
    const p = this.proc(name);
    if (!p.running) p.start();
    await p.waitReady(this.spec(name).port, 60_000);
  }

  async kill9(name: string): Promise<void> {
    await this.proc(name).kill9();
  }

  /**
   * Graceful stop of one process (SIGTERM, then SIGKILL after `timeoutMs`).
   * A simulator stopped this way is an outage of the system it stands for;
   * its journal keeps its state, and `restart()` brings it back with it.
   */
  async stopService(name: string, timeoutMs = 30_000): Promise<void> {
    await this.proc(name).stop(timeoutMs);
  }

  private supervising = false;

  /**
   * Restarts, after `delayMs`, any process that exits without the harness
   * asking (as systemd's Restart=always would), so a test can go on and
   * still report the exit: see `ownExits()`.
   */
  supervise(delayMs = 1_000): void {
    this.supervising = true;
    for (const [name, p] of this.procs) {
      p.onOwnExit = () => {
        setTimeout(() => {
          if (this.supervising && !p.running) this.restart(name).catch(() => undefined);
        }, delayMs).unref();
      };
    }
  }

  /** Exits of each process that the harness did not cause (kill9, stop), by service. */
  ownExits(): Record<string, Array<{ at: number; code: number | null; signal: string | null; tail: string }>> {
    return Object.fromEntries([...this.procs].filter(([, p]) => p.ownExits.length > 0).map(([n, p]) => [n, [...p.ownExits]]));
  }

  /** Graceful stop: services first (SIGTERM, they drain), simulators last. */
  async stop(): Promise<void> {
    this.supervising = false;
    await Promise.all(this.specs.filter((s) => !s.infra).map((s) => this.procs.get(s.name)!.stop()));
    await Promise.all(this.specs.filter((s) => s.infra).map((s) => this.procs.get(s.name)!.stop()));
  }

  async killAll(): Promise<void> {
    this.supervising = false;
    await Promise.all([...this.procs.values()].map((p) => p.kill9()));
  }

  /** Sum of a metric's samples (all label sets) on a service's /metrics, or 0 when unreachable. */
  async metric(service: string, name: string, labels: Record<string, string> = {}): Promise<number> {
    try {
      const text = await (await fetch(`${this.url(service)}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
        if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    } catch {
      return 0;
    }
  }
}

export async function prepareLayout(l: StackLayout): Promise<void> {
  for (const d of [l.cacheRoot, l.destRoot, l.logDir, l.stateDir]) await mkdir(d, { recursive: true });
}
