import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEvent, ingestedChunk, type IngestedFile, type Message } from '@terra-transfer/contracts';
import { freePort, tempDir, waitFor } from '@terra-transfer/testkit';

/** The workspace root, found from this file whether it runs from test/ (jest) or dist-bench/test/ (the bench). */
function workspaceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('pnpm-workspace.yaml not found above the test helpers');
    dir = up;
  }
  return dir;
}
const ROOT = workspaceRoot();
export const SIM_MAIN = join(ROOT, 'services/clowder-sim/dist/main.js');
export const INGEST_MAIN = join(ROOT, 'services/clowder-ingest/dist/main.js');
export const COMM_KEY = 'r1ek3rs';
export const SIM_ADMIN = 'sim-admin-token';

export interface Proc {
  proc: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Starts a service from its compiled main and waits for /healthz (or /readyz). */
export async function startProcess(main: string, env: Record<string, string>, probe: '/healthz' | '/readyz' = '/healthz', timeoutMs = 30_000, fixedPort?: number): Promise<Proc> {
  const port = fixedPort ?? (await freePort());
  const proc = spawn(process.execPath, [main], { env: { ...process.env, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await waitFor(`${main} ${probe}`, async () => {
      if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${out.slice(-2000)}`);
      const r = await fetch(`${url}${probe}`).catch(() => undefined);
      return r?.ok ?? false;
    }, timeoutMs, 100);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${String(err)}\n${out.slice(-3000)}`, { cause: err });
  }
  return {
    proc,
    url,
    port,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Starts the simulator as a process; `port` fixes its port (a Clowder that comes up later where the ingest expects it). */
export async function startSim(env: Record<string, string> = {}, port?: number) {
  const dir = await tempDir('clowder-sim');
  const simEnv = {
    CLOWDER_SIM_DATA_DIR: dir.path,
    CLOWDER_SIM_ADMIN_TOKEN: SIM_ADMIN,
    CLOWDER_SIM_SOURCEPATHS: '/home/clowder/sites',
    LOG_LEVEL: 'warn',
    ...env,
  };
  let p = await startProcess(SIM_MAIN, simEnv, '/healthz', 30_000, port);
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${p.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${SIM_ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  return {
    get url() {
      return p.url;
    },
    get port() {
      return p.port;
    },
    dir,
    /** Stops the process (Clowder down); its journal stays. */
    down: () => p.stop(),
    /** Starts it again on the same port with the same journal (Clowder back, with everything it had). */
    up: async () => {
      p = await startProcess(SIM_MAIN, simEnv, '/healthz', 30_000, p.port);
    },
    output: () => p.output(),
    summary: () => admin('GET', '/admin/summary') as Promise<Summary>,
    setFaults: (f: Record<string, unknown>) => admin('PUT', '/admin/faults', f),
    close: async () => {
      await p.stop();
      await dir.remove();
    },
  };
}

export interface Summary {
  counts: { spaces: number; collections: number; datasets: number; files: number; metadata: number; distinctFilePaths: number; datasetsWithMetadata: number };
  duplicates: { spaces: unknown[]; collections: unknown[]; datasets: unknown[]; filePaths: unknown[]; datasetMetadata: unknown[] };
  filesInDatasets: number;
}

let seq = 0;
/** A file.transferred chunk of one file for a destination path (the other fields are plausible and unused by the ingest). */
export function transferred(site: string, destinationPath: string, sensor = 'sensor', version: { size?: number; mtimeMs?: number; checksum?: string | null } = {}): Message<'file.transferred'> {
  return transferredChunkOf(site, [{ destinationPath, sensor, ...version }]);
}

/** A file.transferred chunk of several files. */
export function transferredChunkOf(site: string, files: ReadonlyArray<{ destinationPath: string; sensor?: string; size?: number; mtimeMs?: number; checksum?: string | null }>): Message<'file.transferred'> {
  const n = ++seq;
  return createEvent('file.transferred', `ft-${process.pid}-${n}-${files[0]!.destinationPath}`.slice(0, 500), {
    site,
    taskId: 'task-1',
    chunk: 0,
    files: files.map((f, i) => ({
      sensor: f.sensor ?? 'sensor',
      path: `/gantry_data${f.destinationPath}`,
      sourcePath: `/gantry_data${f.destinationPath}`,
      destinationPath: f.destinationPath,
      size: f.size ?? 1,
      mtimeMs: f.mtimeMs ?? 1_700_000_000_000,
      checksum: f.checksum ?? null,
      checksumAlgorithm: f.checksum ? 'sha256' : null,
      uploadId: `upload-${n}-${i}`,
      attempt: 1,
    })),
  });
}

/** A file of a file.ingested chunk, with its event's id and site: what the tests look at per file. */
export interface IngestedOutcome {
  id: string;
  data: IngestedFile & { site: string };
}

/** The files of file.ingested chunks (drained from the outcomes tap), one entry per file. */
export function ingestedOutcomes(bodies: ReadonlyArray<{ content: Buffer }>): IngestedOutcome[] {
  return bodies.flatMap((m) => {
    const e = JSON.parse(m.content.toString()) as Message<'file.ingested'>;
    const c = ingestedChunk(e);
    return c.files.map((f) => ({ id: e.id, data: { ...f, site: c.site } }));
  });
}
