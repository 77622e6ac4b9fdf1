import { counter, env, type Logger, type Registry } from '@terra-transfer/platform';
import { GlobusClient } from './client.js';

/** The Globus settings of every service that calls Globus, declared once; a service spreads them into its spec. */
export const globusSettings = {
  GLOBUS_AUTH_URL: env.url('Globus Auth base URL', { default: 'https://auth.globus.org' }),
  GLOBUS_TRANSFER_URL: env.url('Globus Transfer API base URL (…/v0.10)', { default: 'https://transfer.api.globus.org/v0.10' }),
  GLOBUS_CLIENT_ID: env.string('Globus confidential client id (the identity that owns the tasks)'),
  GLOBUS_CLIENT_SECRET: env.string('Globus confidential client secret', { secret: true }),
  GLOBUS_SCOPES: env.list('Scopes requested for the token (add data_access scopes of GCSv5 mapped collections)', { default: ['urn:globus:auth:scope:transfer.api.globus.org:all'] }),
  GLOBUS_RATE_LIMIT: env.number('Globus API requests per second at most (this service’s share of the identity’s 20/s)', { default: 20, min: 0.1 }),
} as const;

export interface GlobusConfig {
  GLOBUS_AUTH_URL: string;
  GLOBUS_TRANSFER_URL: string;
  GLOBUS_CLIENT_ID: string;
  GLOBUS_CLIENT_SECRET: string;
  GLOBUS_SCOPES: readonly string[];
  GLOBUS_RATE_LIMIT: number;
}

/** A client from those settings, counting every HTTP attempt in terra_transfer_globus_calls_total{endpoint,outcome}. */
export function globusClientFromConfig(config: GlobusConfig, logger: Logger, registry: Registry): GlobusClient {
  const calls = counter(registry, 'terra_transfer_globus_calls_total', 'Globus API calls (HTTP attempts) by endpoint and outcome', ['endpoint', 'outcome']);
  return new GlobusClient({
    authUrl: config.GLOBUS_AUTH_URL,
    transferUrl: config.GLOBUS_TRANSFER_URL,
    clientId: config.GLOBUS_CLIENT_ID,
    clientSecret: config.GLOBUS_CLIENT_SECRET,
    scopes: config.GLOBUS_SCOPES,
    rateLimitPerSec: config.GLOBUS_RATE_LIMIT,
    logger,
    onCall: (endpoint, outcome) => calls.inc({ endpoint, outcome }),
  });
}
