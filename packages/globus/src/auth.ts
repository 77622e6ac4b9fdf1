import { GlobusError } from './errors.js';

/** The Transfer API scope; a GCSv5 mapped collection adds a data_access dependency (see `transferScope`). */
export const TRANSFER_SCOPE = 'urn:globus:auth:scope:transfer.api.globus.org:all';

/**
 * The transfer scope with an optional data_access dependency per mapped
 * collection: `...:all[*https://auth.globus.org/scopes/<id>/data_access ...]`.
 * Without it, POST /transfer on such a collection answers 403 ConsentRequired.
 */
export function transferScope(dataAccessCollections: readonly string[] = []): string {
  if (dataAccessCollections.length === 0) return TRANSFER_SCOPE;
  return `${TRANSFER_SCOPE}[${dataAccessCollections.map((id) => `*https://auth.globus.org/scopes/${id}/data_access`).join(' ')}]`;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  token_type?: string;
  resource_server?: string;
  scope?: string;
  other_tokens?: unknown[];
}

interface Current {
  token: string;
  expiresAtMs: number;
}

/**
 * Client-credentials tokens, renewed the way the SDK's renewing authorizer
 * does: a new token is asked for 60 s before expiry, and once more when the
 * Transfer API answers 401 (`invalidate`). There is no refresh token in this
 * grant; renewing is simply asking again. Concurrent callers share one
 * in-flight renewal.
 */
export class TokenSource {
  private current: Current | undefined;
  private inflight: Promise<Current> | undefined;

  constructor(
    private readonly fetchToken: () => Promise<TokenResponse>,
    private readonly now: () => number = Date.now,
    private readonly renewBeforeMs = 60_000,
  ) {}

  async token(): Promise<string> {
    const c = this.current;
    if (c && this.now() < c.expiresAtMs - this.renewBeforeMs) return c.token;
    return (await this.renew()).token;
  }

  /** Forgets `token` if it is still the current one (after a 401), so the next call renews. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  /** When the current token expires (ms since epoch), or undefined. */
  get expiresAtMs(): number | undefined {
    return this.current?.expiresAtMs;
  }

  private renew(): Promise<Current> {
    this.inflight ??= (async () => {
      try {
        const started = this.now();
        const res = await this.fetchToken();
        // Like the SDK's ClientCredentialsAuthorizer: exactly one token, or we cannot tell which to use.
        if (typeof res.access_token !== 'string' || typeof res.expires_in !== 'number' || (res.other_tokens?.length ?? 0) > 0) {
          throw new GlobusError({ endpoint: 'token', status: 200, code: 'GLOBUS_BAD_RESULT', upstreamCode: 'AUTH.BadTokenResponse', message: 'token response must hold exactly one access token with expires_in' });
        }
        this.current = { token: res.access_token, expiresAtMs: started + res.expires_in * 1000 };
        return this.current;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
