import { createLogger, createRegistry, Lifecycle, loadConfig, runMain } from '@terra-transfer/platform';
import { buildSimulator } from './app.js';
import { settings } from './config.js';

runMain('globus-sim', async () => {
  const config = loadConfig(settings);
  const logger = createLogger({ service: 'globus-sim', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  const sim = await buildSimulator(config, logger, { registry: createRegistry() });
  lifecycle.onShutdown('simulator', () => sim.close());
  lifecycle.handleSignals();
  const address = await sim.app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  logger.info({ address, endpoints: Object.keys(config.GLOBUS_SIM_ENDPOINTS), stateDir: config.GLOBUS_SIM_STATE_DIR }, 'globus simulator listening');
});
