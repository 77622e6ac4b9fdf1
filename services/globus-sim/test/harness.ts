import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadConfig } from '@terra-transfer/platform';
import { GlobusClient, type GlobusClientOptions } from '@terra-transfer/globus';
import { tempDir, testLogger } from '@terra-transfer/testkit';
import { buildSimulator, type Simulator } from '../src/app.js';
import { settings } from '../src/config.js';

export const SRC = 'aaaaaaaa-0000-4000-8000-000000000001';
export const DST = 'bbbbbbbb-0000-4000-8000-000000000002';
export const CLIENT_ID = 'cccccccc-0000-4000-8000-000000000003';
export const CLIENT_SECRET = 'sim-secret-that-must-never-be-logged';
export const IDENTITY = 'dddddddd-0000-4000-8000-000000000004';
export const ADMIN_TOKEN = 'admin-token-for-tests';

export interface Harness {
  sim: Simulator;
  url: string;
  srcRoot: string;
  dstRoot: string;
  stateDir: string;
  client(o?: Partial<GlobusClientOptions>): GlobusClient;
  admin(body: unknown): Promise<Response>;
  write(rel: string, content: string | Buffer): Promise<string>;
  /** Stops the simulator (state kept on disk) and starts a new one on the same state directory; `sim` and `url` change. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A simulator on an ephemeral port with fresh roots; `env` overrides settings. */
export async function startSim(env: Record<string, string> = {}): Promise<Harness> {
  const dir = await tempDir('globus-sim');
  const srcRoot = join(dir.path, 'src');
  const dstRoot = join(dir.path, 'dst');
  const stateDir = join(dir.path, 'state');
  const config = loadConfig(settings, {
    GLOBUS_SIM_ENDPOINTS: JSON.stringify({ [SRC]: { root: srcRoot, display_name: 'gantry cache' }, [DST]: { root: dstRoot, display_name: 'hpc' } }),
    GLOBUS_SIM_CLIENTS: JSON.stringify({ [CLIENT_ID]: { secret: CLIENT_SECRET, identity: IDENTITY, username: 'terra@clients.auth.globus.org' } }),
    GLOBUS_SIM_STATE_DIR: stateDir,
    GLOBUS_SIM_ADMIN_TOKEN: ADMIN_TOKEN,
    GLOBUS_SIM_RETRY_INTERVAL_MS: '200',
    GLOBUS_SIM_TICK_MS: '100',
    GLOBUS_SIM_RATE_LIMIT_PER_SEC: '0',
    ...env,
  });
  const sim = await buildSimulator(config, testLogger());
  const url = await sim.app.listen({ host: '127.0.0.1', port: 0 });
  const clients: GlobusClient[] = [];
  const h: Harness = {
    sim,
    url,
    srcRoot,
    dstRoot,
    stateDir,
    client: (o = {}) => {
      const c = new GlobusClient({ authUrl: h.url, transferUrl: `${h.url}/v0.10`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, rateLimitPerSec: 0, ...o });
      clients.push(c);
      return c;
    },
    admin: (body) => fetch(`${h.url}/admin/faults`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    write: async (rel, content) => {
      const p = join(srcRoot, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content);
      return p;
    },
    restart: async () => {
      await h.sim.close();
      h.sim = await buildSimulator(config, testLogger());
      h.url = await h.sim.app.listen({ host: '127.0.0.1', port: 0 });
    },
    close: async () => {
      await h.sim.close();
      await dir.remove();
    },
  };
  return h;
}

export const item = (source_path: string, destination_path: string, recursive = false) => ({ DATA_TYPE: 'transfer_item' as const, source_path, destination_path, recursive });

/** Polls a task until it is no longer ACTIVE. */
export async function waitDone(c: GlobusClient, taskId: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t = await c.getTask(taskId);
    if (t.status !== 'ACTIVE') return t;
    if (Date.now() > end) throw new Error(`task ${taskId} still ACTIVE after ${timeoutMs} ms (nice_status ${t.nice_status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
