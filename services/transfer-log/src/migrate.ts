import { createLogger, env, loadConfig, runMain } from '@terra-transfer/platform';
import { createDatabaseIfMissing, migrate } from './adapters/db.js';
import { transferLogSettings } from './config.js';

/**
 * `node dist/migrate.js [up|down] [--create-database]`: runs the schema
 * migrations outside the service (`make db`, deployments that migrate before
 * rolling out). `down` reverts the newest migration only.
 */
runMain('transfer-log-migrate', async () => {
  const config = loadConfig({ DATABASE_URL: transferLogSettings.DATABASE_URL, LOG_LEVEL: transferLogSettings.LOG_LEVEL, MIGRATE_CREATE_DATABASE: env.bool('Create the database first when it does not exist', { default: false }) });
  const logger = createLogger({ service: 'transfer-log-migrate', level: config.LOG_LEVEL });
  const args = process.argv.slice(2);
  const direction = args.includes('down') ? 'down' : 'up';
  if (config.MIGRATE_CREATE_DATABASE || args.includes('--create-database')) {
    if (await createDatabaseIfMissing(config.DATABASE_URL)) logger.info('database created');
  }
  const ran = await migrate(config.DATABASE_URL, logger, direction, direction === 'down' ? 1 : undefined);
  logger.info({ direction, ran }, ran.length ? 'migrations done' : 'schema up to date');
  process.exit(0);
});
