import { Lifecycle, createLogger, createRegistry, loadConfig, runMain } from '@terra-transfer/platform';
import { Store } from './adapters/store.js';
import { buildSimApp } from './app.js';
import { configSpec } from './config.js';
import { simTelemetry } from './telemetry.js';

runMain('clowder-sim', async () => {
  const config = loadConfig(configSpec);
  const logger = createLogger({ service: 'clowder-sim', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  const store = new Store({ dataDir: config.CLOWDER_SIM_DATA_DIR });
  lifecycle.onShutdown('store', () => store.close());
  const sim = await buildSimApp({
    store,
    logger,
    registry,
    users: config.CLOWDER_SIM_USERS,
    commKey: config.CLOWDER_SIM_COMM_KEY,
    privateMode: config.CLOWDER_SIM_PRIVATE,
    sourcePaths: config.CLOWDER_SIM_SOURCEPATHS,
    mimeTypes: config.CLOWDER_SIM_MIMETYPES,
    publicUrl: config.CLOWDER_SIM_PUBLIC_URL,
    adminToken: config.CLOWDER_SIM_ADMIN_TOKEN,
    bodyLimit: config.CLOWDER_SIM_BODY_LIMIT,
    faults: {
      latencyMs: config.CLOWDER_SIM_LATENCY_MS,
      rate: config.CLOWDER_SIM_FAULT_RATE,
      status: config.CLOWDER_SIM_FAULT_STATUS,
      phase: config.CLOWDER_SIM_FAULT_PHASE,
      insertFailureRate: config.CLOWDER_SIM_INSERT_FAILURE_RATE,
    },
  });
  lifecycle.onShutdown('http', () => sim.http.close());
  lifecycle.handleSignals();
  await sim.http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const addr = sim.http.server.address();
  simTelemetry(logger, registry).started(typeof addr === 'object' && addr ? addr.port : config.HTTP_PORT, store.replay.ops, store.replay.torn);
});
