import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { User } from '../core/model.js';
import { notAuthorized } from './replies.js';

export const ANONYMOUS_ID = '000000000000000000000000';

export interface Caller {
  user: User | undefined;
  /** Status Admin: superadmin users and the commKey. */
  admin: boolean;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * ApiController.getUser: Basic (a wrong password falls through silently),
 * then X-API-Key, then ?key= (the commKey makes the anonymous superadmin),
 * then anonymous. An unknown key is not an error by itself.
 */
export function identify(req: FastifyRequest, users: readonly User[], commKey: string): Caller {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const email = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const u = users.find((x) => x.email === email && x.password !== undefined && same(x.password, password));
      if (u) return { user: u, admin: u.admin };
    }
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') {
    const u = users.find((x) => x.key !== undefined && same(x.key, header));
    if (u) return { user: u, admin: u.admin };
  }
  const key = (req.query as Record<string, unknown> | undefined)?.['key'];
  if (typeof key === 'string') {
    if (same(key, commKey)) return { user: { id: ANONYMOUS_ID, email: 'anonymous', fullName: 'Anonymous User', admin: true }, admin: true };
    const u = users.find((x) => x.key !== undefined && same(x.key, key));
    if (u) return { user: u, admin: u.admin };
  }
  return { user: undefined, admin: false };
}

export class Access {
  constructor(private readonly privateMode: boolean) {}

  /** Reads: anonymous is allowed unless the server is private. */
  read(c: Caller): void {
    if (!c.user && this.privateMode) throw notAuthorized();
  }

  /** Writes always need a user. */
  write(c: Caller): User {
    if (!c.user) throw notAuthorized();
    return c.user;
  }

  /**
   * Permission is checked before the resource is looked up, so a non-admin
   * naming a resource that does not exist gets 401, an admin the real 404.
   */
  found<T>(c: Caller, rec: T | undefined, notFound: () => Error): T {
    if (rec) return rec;
    throw c.admin ? notFound() : notAuthorized();
  }
}
