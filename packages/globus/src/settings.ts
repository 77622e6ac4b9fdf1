import type { Redis } from 'ioredis';
import { counter, env, type Logger, type Registry } from '@terra-transfer/platform';
import { GlobusClient } from './client.js';
import { DEFAULT_IDENTITY_BUDGET_PER_SEC, SharedRequestBudget } from './request-budget.js';

/** The Globus settings of every service that calls Globus, declared once; a service spreads them into its spec. */
export const globusSettings = {
  GLOBUS_AUTH_URL: env.url('Globus Auth base URL', { default: 'https://auth.globus.org' }),
  GLOBUS_TRANSFER_URL: env.url('Globus Transfer API base URL (…/v0.10)', { default: 'https://transfer.api.globus.org/v0.10' }),
  GLOBUS_CLIENT_ID: env.string('Globus confidential client id (the identity that owns the tasks)'),
  GLOBUS_CLIENT_SECRET: env.string('Globus confidential client secret', { secret: true }),
  GLOBUS_SCOPES: env.list('Scopes requested for the token (add data_access scopes of GCSv5 mapped collections)', { default: ['urn:globus:auth:scope:transfer.api.globus.org:all'] }),
  GLOBUS_RATE_LIMIT: env.number('Globus API requests per second at most: with GLOBUS_RATE_LIMIT_SHARED the whole identity’s budget (every service and instance on this Redis), otherwise this process’s share (the shares must sum to ≤ 18)', { default: DEFAULT_IDENTITY_BUDGET_PER_SEC, min: 0.1 }),
  GLOBUS_RATE_LIMIT_SHARED: env.bool('Spend one request budget per Globus identity across services and instances, kept in Redis (REDIS_URL, REDIS_PREFIX); turn off only where processes of one identity share no Redis, and split GLOBUS_RATE_LIMIT by hand', { default: true }),
} as const;

export interface GlobusConfig {
  GLOBUS_AUTH_URL: string;
  GLOBUS_TRANSFER_URL: string;
  GLOBUS_CLIENT_ID: string;
  GLOBUS_CLIENT_SECRET: string;
  GLOBUS_SCOPES: readonly string[];
  GLOBUS_RATE_LIMIT: number;
  GLOBUS_RATE_LIMIT_SHARED: boolean;
}

/**
 * A client from those settings, counting every HTTP attempt in
 * terra_transfer_globus_calls_total{endpoint,outcome} and every 429 in
 * terra_transfer_globus_rate_limited_total{endpoint}. With
 * GLOBUS_RATE_LIMIT_SHARED the budget lives in `shared.redis`.
 */
export function globusClientFromConfig(config: GlobusConfig, logger: Logger, registry: Registry, shared?: { redis: Redis; prefix: string }): GlobusClient {
  const calls = counter(registry, 'terra_transfer_globus_calls_total', 'Globus API calls (HTTP attempts) by endpoint and outcome', ['endpoint', 'outcome']);
  const limited = counter(registry, 'terra_transfer_globus_rate_limited_total', 'Globus answers 429 (rate limited), by endpoint: the request budget is set too high or shared with something outside it', ['endpoint']);
  const authRefused = counter(registry, 'terra_transfer_globus_auth_refused_total', 'Globus Auth refused our client credentials (revoked or wrong secret, client deleted): nothing moves until an operator fixes them');
  const budget = config.GLOBUS_RATE_LIMIT_SHARED && shared
    ? new SharedRequestBudget({ redis: shared.redis, prefix: shared.prefix, identity: config.GLOBUS_CLIENT_ID, perSecond: config.GLOBUS_RATE_LIMIT })
    : undefined;
  if (config.GLOBUS_RATE_LIMIT_SHARED && !shared) logger.warn('GLOBUS_RATE_LIMIT_SHARED is set but this service has no Redis: the Globus budget is local to this process');
  return new GlobusClient({
    authUrl: config.GLOBUS_AUTH_URL,
    transferUrl: config.GLOBUS_TRANSFER_URL,
    clientId: config.GLOBUS_CLIENT_ID,
    clientSecret: config.GLOBUS_CLIENT_SECRET,
    scopes: config.GLOBUS_SCOPES,
    rateLimitPerSec: config.GLOBUS_RATE_LIMIT,
    ...(budget ? { budget } : {}),
    logger,
    onCall: (endpoint, outcome, info) => {
      calls.inc({ endpoint, outcome });
      if (info.status === 429) limited.inc({ endpoint });
      if (endpoint === 'token' && outcome === 'error' && (info.status === 400 || info.status === 401)) {
        authRefused.inc();
        logger.error({ code: info.code, status: info.status }, 'Globus Auth refused our client credentials: Globus calls stop until GLOBUS_CLIENT_ID / GLOBUS_CLIENT_SECRET are fixed (retried with backoff, never in a loop)');
      }
    },
  });
}
