import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClientConfig } from '../config.js';
import type { FaultPlan } from '../core/faults.js';
import { dataAccessScope, parseScopes, TRANSFER_SCOPE } from '../core/scope.js';
import type { Store } from '../adapters/store.js';
import type { Telemetry } from '../telemetry.js';

export interface AuthDeps {
  clients: Record<string, ClientConfig>;
  endpoints: ReadonlySet<string>;
  store: Store;
  faults: FaultPlan;
  telemetry: Telemetry;
  tokenLifetimeSec: number;
  now: () => number;
}

const oauthError = (reply: FastifyReply, status: number, error: string, description: string) =>
  reply.code(status).type('application/json').send({ error, error_description: description });

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Globus Auth: `POST /v2/oauth2/token`, client_credentials grant only (there is no refresh token in this grant). */
export async function authRoutes(app: FastifyInstance, d: AuthDeps): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.post('/v2/oauth2/token', { schema: { tags: ['auth'], summary: 'Client credentials grant (Globus Auth)' } }, async (req, reply) => {
    const fault = d.faults.take('token', ['429', '503', '500']);
    if (fault) {
      d.telemetry.faultFired(fault.kind, 'token');
      if (fault.retryAfter !== null) reply.header('retry-after', String(fault.retryAfter));
      const status = Number(fault.kind);
      return reply.code(status).type('application/json').send({ errors: [{ id: randomBytes(8).toString('hex'), code: status === 500 ? 'INTERNAL_ERROR' : status === 429 ? 'RATE_LIMITED' : 'SERVICE_UNAVAILABLE', detail: 'injected fault', status: String(status), title: 'Error' }] });
    }
    const form = (req.body ?? {}) as Record<string, string>;
    let id = form['client_id'];
    let secret = form['client_secret'];
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        id = decoded.slice(0, colon);
        secret = decoded.slice(colon + 1);
      }
    }
    const client = id !== undefined ? d.clients[id] : undefined;
    if (!client || secret === undefined || !sameSecret(secret, client.secret)) return oauthError(reply, 401, 'invalid_client', 'Unknown client or bad client secret');
    if (form['grant_type'] !== 'client_credentials') return oauthError(reply, 400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported');
    const scopeText = form['scope'] ?? TRANSFER_SCOPE;
    const scopes = parseScopes(scopeText);
    const known = new Set([...d.endpoints].map(dataAccessScope));
    if (!scopes || scopes.length === 0 || scopes.some((s) => s.scope !== TRANSFER_SCOPE || s.dependencies.some((dep) => !known.has(dep)))) {
      return oauthError(reply, 400, 'invalid_scope', `Unknown or unsupported scope: ${scopeText}`);
    }
    const token = randomBytes(32).toString('base64url');
    await d.store.addToken({ token, clientId: id!, owner: client.identity, scopes, expiresAtMs: d.now() + d.tokenLifetimeSec * 1000 });
    return reply.code(200).type('application/json').send({
      access_token: token,
      scope: scopeText,
      expires_in: d.tokenLifetimeSec,
      token_type: 'Bearer',
      resource_server: 'transfer.api.globus.org',
      other_tokens: [],
    });
  });
}
