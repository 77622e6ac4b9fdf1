import { env, optional, platformSettings } from '@terra-transfer/platform';

/**
 * Every setting of `terra`, declared once: the same environment variables as
 * the services (SITES_FILE, AMQP_URL, AMQP_PREFIX, API_TOKEN), plus where to
 * find each service. Read by `loadConfig` only when a command needs them.
 */
export const cliSettings = {
  SITES_FILE: env.path('The site file (YAML, docs/sites.md) the services read'),
  AMQP_URL: platformSettings.AMQP_URL,
  AMQP_PREFIX: platformSettings.AMQP_PREFIX,
  // Two brokers (decision 0028): the side of the broker AMQP_URL and RABBITMQ_MANAGEMENT_URL reach; the other side's dead letters are read through the transfer log.
  AMQP_SIDE: platformSettings.AMQP_SIDE,
  API_TOKEN: optional(env.string("Bearer token of the services' APIs (the services' API_TOKEN; the transfer log's READ_TOKEN when it has one)", { secret: true })),
  SERVICE_URLS: env.list(
    'Where each service answers, as name=url pairs (batcher, watcher, clowder-ingest, transfer-log, cleaner@<site>, log-tailer@<site>, directory-source@<site>); '
    + 'unnamed ones take the local stack\'s ports (8081–8087, +100 per further site)',
    { default: [] },
  ),
  RABBITMQ_MANAGEMENT_URL: env.url("RabbitMQ's management API (credentials and vhost are taken from AMQP_URL)", { default: 'http://127.0.0.1:15672', protocols: ['http', 'https'] }),
  CLOWDER_URL: optional(env.url("Clowder's base URL, for `terra verify` (without it, verify compares the cache and the destination only)", { protocols: ['http', 'https'] })),
  CLOWDER_KEY: optional(env.string('Clowder API key, for `terra verify`', { secret: true })),
  HTTP_TIMEOUT_MS: env.int('Timeout of each HTTP request', { default: 10_000, min: 100 }),
} as const;
