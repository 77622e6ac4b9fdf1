import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelay } from './backoff.js';
import { safeUrl } from './logger.js';

export { Redis } from 'ioredis';

export interface RedisOptions {
  url: string;
  connectionName: string;
  logger: Logger;
}

/**
 * An ioredis client that reconnects forever with capped backoff. Commands
 * issued while Redis is down wait in the offline queue and fail after a few
 * reconnection attempts, so a handler gets a (transient) error instead of
 * hanging; readiness reports `status === 'ready'`.
 */
/**
 * The kind of a Redis error reply: the protocol makes its first word the error
 * code (`READONLY`, `WRONGTYPE`, `NOSCRIPT`), and ioredis gives the reply as
 * the message. READONLY: we reached a replica (after a failover), so reconnect.
 */
function redisErrorKind(err: Error): string {
  return err.message.split(/\s/, 1)[0] ?? '';
}

export function createRedis(opts: RedisOptions): Redis {
  const log = opts.logger.child({ component: 'redis' });
  const redis = new Redis(opts.url, {
    connectionName: opts.connectionName,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (times) => backoffDelay(times, { baseMs: 200, maxMs: 5_000 }),
    reconnectOnError: (err) => redisErrorKind(err) === 'READONLY',
  });
  let down = false;
  redis.on('ready', () => {
    log.info({ url: safeUrl(opts.url), recovered: down }, 'redis ready');
    down = false;
  });
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ err }, 'redis unavailable; reconnecting');
    down = true;
  });
  return redis;
}

/** Closes the client once; later calls are no-ops. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  // QUIT waits for pending replies; a client that is not connected has none to wait for.
  if (redis.status !== 'ready') return redis.disconnect();
  await redis.quit().catch(() => redis.disconnect());
}
