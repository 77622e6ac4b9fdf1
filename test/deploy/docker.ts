/**
 * The deploy test's Docker plumbing: the project's own engine (deploy/docker/dockerd.sh),
 * the Debian CLI and docker-compose, run as child processes with DOCKER_HOST set.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const COMPOSE_FILE = `${REPO}deploy/compose/compose.yaml`;
const HOST_OVERRIDE = `${REPO}test/deploy/compose.host.yaml`;
const DOCKER = '/usr/bin/docker';

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command; never throws on a non-zero exit (the caller reads `code`). */
async function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** Like `run`, but a non-zero exit is an error carrying the command's stderr. */
export async function must(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Promise<string> {
  const r = await run(cmd, args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-3000)}`);
  return r.stdout;
}

export class Engine {
  private constructor(readonly host: string) {}

  /** Starts the project's own dockerd (its data root is kept: cached base image and layers). */
  static async start(): Promise<Engine> {
    const host = (await must(`${REPO}deploy/docker/dockerd.sh`, ['start'], {}, 120_000)).trim();
    return new Engine(host);
  }

  /** Stops the daemon this test started (by its pid file, nothing else). */
  async stop(): Promise<void> {
    await run(`${REPO}deploy/docker/dockerd.sh`, ['stop'], {}, 120_000);
  }

  docker(args: string[], timeoutMs?: number): Promise<Run> {
    return run(DOCKER, args, { DOCKER_HOST: this.host }, timeoutMs);
  }

  async mustDocker(args: string[], timeoutMs?: number): Promise<string> {
    return must(DOCKER, args, { DOCKER_HOST: this.host }, timeoutMs);
  }

  /** docker-compose (Debian's, v1) over the deploy compose file and the host-network override. */
  compose(project: string, env: Record<string, string>, args: string[], timeoutMs?: number): Promise<Run> {
    return run('docker-compose', ['-p', project, '-f', COMPOSE_FILE, '-f', HOST_OVERRIDE, ...args], { ...env, DOCKER_HOST: this.host, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeoutMs);
  }

  /** What a compose project left behind: containers, networks and volumes carrying its label. */
  async leftovers(project: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const label = `label=com.docker.compose.project=${project}`;
    const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
    return {
      containers: lines(await this.mustDocker(['ps', '-a', '-q', '--filter', label])),
      networks: lines(await this.mustDocker(['network', 'ls', '-q', '--filter', label])),
      volumes: lines(await this.mustDocker(['volume', 'ls', '-q', '--filter', label])),
    };
  }
}
