import type { Logger } from 'pino';
import { AmqpClient } from './amqp/client.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger } from './logger.js';
import { createRegistry, type Registry } from './metrics.js';
import { closeRedis, createRedis, type Redis } from './redis.js';
import { waitForFile } from './wait-for-file.js';

/** The platform settings bootService reads (platformSettings declares them). */
export interface BootConfig {
  readonly LOG_LEVEL: string;
  readonly HTTP_HOST: string;
  readonly HTTP_PORT: number;
  readonly AMQP_URL?: string;
  readonly AMQP_PREFIX?: string;
  readonly AMQP_SIDE?: 'both' | 'site' | 'datacentre';
  readonly AMQP_DELIVERY_LIMIT?: number;
  readonly REDIS_URL?: string;
  readonly SHUTDOWN_DRAIN_MS?: number;
}

/** Settings a service with a broker connection has. */
type AmqpConfig = Required<Pick<BootConfig, 'AMQP_URL' | 'AMQP_PREFIX' | 'AMQP_SIDE' | 'AMQP_DELIVERY_LIMIT' | 'SHUTDOWN_DRAIN_MS'>>;

export interface BootOptions<P> {
  /** The service's name: logs, connection names, messages. */
  service: string;
  config: BootConfig;
  /** A file the service cannot start without (the site file): waited for, its probes answering, before anything opens. */
  requiredFile?: { key: string; path: string };
  /**
   * Config-time work on that file (load and check the site file) before the logger and connections exist:
   * a ConfigError thrown here exits 78. What it returns is handed back as `prepared`.
   */
  prepare?: () => P;
  /** Opens Redis (REDIS_URL), closed last at shutdown. */
  redis?: boolean;
  /** Opens the AMQP client (not started: the service starts it when ready), closed after the service's own steps with SHUTDOWN_DRAIN_MS. */
  amqp?: (prepared: P) => { sites: readonly string[] };
  /** SIGTERM/SIGINT start the shutdown (default true; false in tests that boot in-process). */
  signals?: boolean;
}

/** Anything that listens on the service's HTTP port (a fastify app). */
export interface Listener {
  listen(opts: { host: string; port: number }): Promise<unknown>;
  close(): Promise<unknown> | unknown;
}

export interface Boot<P, R = Redis | undefined, A = AmqpClient | undefined> {
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  prepared: P;
  /** Present when asked for (`redis: true`). */
  redis: R;
  /** Present when asked for (`amqp`). */
  amqp: A;
  /** Listens on HTTP_HOST:HTTP_PORT; the server is closed first at shutdown (registered now: steps run in reverse). */
  serve: (http: Listener) => Promise<void>;
}

/**
 * The bootstrap every service's main.ts shares, in its order: wait for a required file (probes answering),
 * config-time checks on it, logger, metrics registry, lifecycle with SIGTERM/SIGINT handling, Redis, AMQP.
 * Shutdown steps are registered as each thing opens, so the service's own steps (registered after) run
 * before the connections close: AMQP drains, then Redis closes. The main reads its config, calls this,
 * builds its app from what it returns, and starts consuming when it is ready.
 */
export async function bootService<P = undefined, const O extends BootOptions<P> = BootOptions<P>>(
  o: O & BootOptions<P>,
): Promise<Boot<P, O extends { redis: true } ? Redis : O extends { redis: boolean } ? Redis | undefined : undefined, O extends { amqp: object } ? AmqpClient : undefined>> {
  const { config, service } = o;
  if (o.requiredFile) {
    await waitForFile(o.requiredFile.path, { key: o.requiredFile.key, host: config.HTTP_HOST, port: config.HTTP_PORT, onWait: (m) => process.stderr.write(`${service}: ${m}\n`) });
  }
  const prepared = o.prepare ? o.prepare() : (undefined as P);
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  if (o.signals ?? true) lifecycle.handleSignals();

  let redis: Redis | undefined;
  if (o.redis) {
    const r = createRedis({ url: need(config, 'REDIS_URL'), connectionName: service, logger });
    redis = r;
    lifecycle.onShutdown('redis', () => closeRedis(r));
  }
  let amqp: AmqpClient | undefined;
  if (o.amqp) {
    const c = amqpConfig(config);
    const a = new AmqpClient({
      url: c.AMQP_URL, prefix: c.AMQP_PREFIX, side: c.AMQP_SIDE, deliveryLimit: c.AMQP_DELIVERY_LIMIT,
      connectionName: service, logger, registry, sites: o.amqp(prepared).sites,
    });
    amqp = a;
    lifecycle.onShutdown('amqp', () => a.close(c.SHUTDOWN_DRAIN_MS));
  }
  return {
    logger, registry, lifecycle, prepared,
    // What was asked for is there (the option's type says which).
    redis: redis as never, amqp: amqp as never,
    serve: async (http) => {
      lifecycle.onShutdown('http', async () => {
        await http.close();
      });
      await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
    },
  };
}

function need<K extends keyof BootConfig>(config: BootConfig, key: K): NonNullable<BootConfig[K]> {
  const v = config[key];
  // A programming error (the service's spec lacks a platform setting), not an operator's: platformSettings declares it.
  if (v === undefined) throw new Error(`bootService: the config has no ${key} (spread platformSettings into the spec)`);
  return v as NonNullable<BootConfig[K]>;
}

function amqpConfig(config: BootConfig): AmqpConfig {
  return {
    AMQP_URL: need(config, 'AMQP_URL'), AMQP_PREFIX: need(config, 'AMQP_PREFIX'), AMQP_SIDE: need(config, 'AMQP_SIDE'),
    AMQP_DELIVERY_LIMIT: need(config, 'AMQP_DELIVERY_LIMIT'), SHUTDOWN_DRAIN_MS: need(config, 'SHUTDOWN_DRAIN_MS'),
  };
}
