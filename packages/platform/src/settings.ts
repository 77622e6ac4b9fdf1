import { env } from './config.js';

/** Settings every service has. A service spreads these into its own spec. */
export const platformSettings = {
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, 'pino log level', { default: 'info' }),
  AMQP_URL: env.url('RabbitMQ URL, or the URLs of a cluster\'s nodes separated by commas (tried in turn; after a lost connection the next node first). Credentials are never logged', { default: 'amqp://guest:guest@127.0.0.1:5672', protocols: ['amqp', 'amqps'], secret: true, multiple: true }),
  AMQP_PREFIX: env.string('Prefix of every exchange and queue name', { default: 'terra', pattern: /^[a-z0-9][a-z0-9._-]*$/ }),
  AMQP_SIDE: env.enum(['both', 'site', 'datacentre'] as const, 'Which queues this broker holds: both (one broker for everything), or site / datacentre when each side runs its own broker, linked by shovels (decision 0028)', { default: 'both' }),
  AMQP_DELIVERY_LIMIT: env.int('x-delivery-limit of the consumer queues (deliveries before dead-lettering)', { default: 10, min: 1, max: 1000 }),
  REDIS_URL: env.url('Redis URL', { default: 'redis://127.0.0.1:6379', protocols: ['redis', 'rediss'], secret: true }),
  REDIS_PREFIX: env.string('Prefix of every Redis key', { default: 'terra', pattern: /^[a-z0-9][a-z0-9._:-]*$/ }),
  HTTP_HOST: env.string('Address the HTTP server binds', { default: '0.0.0.0' }),
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { min: 0, max: 65535 }),
  SHUTDOWN_DRAIN_MS: env.int('How long shutdown waits for in-flight messages before the broker requeues them', { default: 10_000, min: 0 }),
} as const;
