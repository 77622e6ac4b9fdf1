import { bootService, loadConfig, runMain } from '@terra-transfer/platform';
import { buildSimulator } from './app.js';
import { settings } from './config.js';

runMain('globus-sim', async () => {
  const config = loadConfig(settings);
  const { logger, registry, lifecycle } = await bootService({ service: 'globus-sim', config });
  const sim = await buildSimulator(config, logger, { registry });
  // sim.close() closes its HTTP server with the rest (after the executor, before the journal): one step.
  lifecycle.onShutdown('simulator', () => sim.close());
  const address = await sim.app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  logger.info({ address, endpoints: Object.keys(config.GLOBUS_SIM_ENDPOINTS), stateDir: config.GLOBUS_SIM_STATE_DIR }, 'globus simulator listening');
});
