import type {} from '@fastify/swagger';
import { mkdir, realpath } from 'node:fs/promises';
import { buildHttp, createRegistry, type ConfigOf, type HttpApp, type Logger, type Registry } from '@terra-transfer/platform';
import type { FastifyInstance } from 'fastify';
import { Executor, type ResolvedEndpoint } from './adapters/executor.js';
import { Store } from './adapters/store.js';
import type { settings } from './config.js';
import { FaultPlan } from './core/faults.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { transferRoutes } from './routes/transfer.js';
import { createTelemetry } from './telemetry.js';

export type SimConfig = ConfigOf<typeof settings>;

export interface Simulator {
  app: HttpApp;
  store: Store;
  executor: Executor;
  faults: FaultPlan;
  registry: Registry;
  /** Stops the executor (running tasks stay ACTIVE and resume on the next start), the HTTP server and the journal. Idempotent. */
  close(): Promise<void>;
}

/** Builds the simulator from its configuration; never listens (main.ts or the test does). */
export async function buildSimulator(config: SimConfig, logger: Logger, opts: { registry?: Registry; now?: () => number } = {}): Promise<Simulator> {
  const now = opts.now ?? Date.now;
  const registry = opts.registry ?? createRegistry();
  const telemetry = createTelemetry(logger, registry);

  // Roots are resolved once: every path check compares real paths against them.
  const endpoints = new Map<string, ResolvedEndpoint>();
  for (const [id, e] of Object.entries(config.GLOBUS_SIM_ENDPOINTS)) {
    await mkdir(e.root, { recursive: true });
    endpoints.set(id, { id, realRoot: await realpath(e.root), display_name: e.display_name ?? id });
  }

  const faults = new FaultPlan();
  // Checked at start by the config's schema (exit 78 naming GLOBUS_SIM_FAULTS).
  for (const f of config.GLOBUS_SIM_FAULTS) faults.add(f);

  const store = await Store.open(config.GLOBUS_SIM_STATE_DIR, logger, now(), config.GLOBUS_SIM_COMPACT_EVERY, now);
  const executor = new Executor(store, telemetry, {
    endpoints,
    maxActivePerOwner: config.GLOBUS_SIM_MAX_ACTIVE_PER_OWNER,
    retryIntervalMs: config.GLOBUS_SIM_RETRY_INTERVAL_MS,
    tickMs: config.GLOBUS_SIM_TICK_MS,
    copyConcurrency: config.GLOBUS_SIM_COPY_CONCURRENCY,
    bandwidthBytesPerSec: config.GLOBUS_SIM_BANDWIDTH_BYTES_PER_SEC,
    now,
  });

  const app = await buildHttp({
    service: 'globus-sim',
    description: 'A local imitation of Globus Auth and the Transfer API v0.10 (see docs/globus.md)',
    logger,
    registry,
    checks: { state: () => true },
    authToken: config.GLOBUS_SIM_ADMIN_TOKEN,
    bodyLimit: 64 * 1024 * 1024,
  });
  // Globus answers only JSON: no body may go out with another content type.
  const base = app as unknown as FastifyInstance;
  await base.register(async (scope) => authRoutes(scope, { clients: config.GLOBUS_SIM_CLIENTS, endpoints: new Set(endpoints.keys()), store, faults, telemetry, tokenLifetimeSec: config.GLOBUS_SIM_TOKEN_LIFETIME_SEC, now }));
  await base.register(
    async (scope) =>
      transferRoutes(scope, {
        endpoints: config.GLOBUS_SIM_ENDPOINTS,
        clients: config.GLOBUS_SIM_CLIENTS,
        store,
        executor,
        faults,
        telemetry,
        maxPendingPerOwner: config.GLOBUS_SIM_MAX_PENDING_PER_OWNER,
        defaultDeadlineSec: config.GLOBUS_SIM_DEFAULT_DEADLINE_SEC,
        rateLimitPerSec: config.GLOBUS_SIM_RATE_LIMIT_PER_SEC,
        pageSize: config.GLOBUS_SIM_PAGE_SIZE,
        now,
      }),
    { prefix: '/v0.10' },
  );
  await base.register(async (scope) => adminRoutes(scope, { faults, store, telemetry, now }));
  await app.ready();
  executor.start();

  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    executor,
    faults,
    registry,
    close: () =>
      (closing ??= (async () => {
        await executor.close();
        await app.close();
        await store.close();
      })()),
  };
}
