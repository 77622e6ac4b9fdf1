import { bootService, loadConfig, runMain } from '@terra-transfer/platform';
import { Store } from './adapters/store.js';
import { buildSimApp } from './app.js';
import { configSpec } from './config.js';
import { simTelemetry } from './telemetry.js';

runMain('clowder-sim', async () => {
  const config = loadConfig(configSpec);
  const { logger, registry, lifecycle, serve } = await bootService({ service: 'clowder-sim', config });
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
  await serve(sim.http);
  const addr = sim.http.server.address();
  simTelemetry(logger, registry).started(typeof addr === 'object' && addr ? addr.port : config.HTTP_PORT, store.replay.ops, store.replay.torn);
});
