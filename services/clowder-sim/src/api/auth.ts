import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Space, User } from '../core/model.js';
import { notAuthorized } from './replies.js';
import { plainText } from './replies.js';

const ANONYMOUS_ID = '000000000000000000000000';

export interface Caller {
  user: User | undefined;
  /** Status Admin: server-admin users and the commKey (sees `filepath`, gets 404 rather than 401). */
  admin: boolean;
  /**
   * Permission checks bypassed: the commKey, or a server admin whose request
   * asks for super-admin mode (`superAdmin=true`). A server admin without it
   * is an ordinary user for permissions, as in Clowder 1.x.
   */
  superAdmin: boolean;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * ApiController.getUser: Basic (a wrong password falls through silently),
 * then X-API-Key, then ?key= (the commKey makes the anonymous superadmin),
 * then anonymous. An unknown key is not an error by itself.
 */
export function identify(req: FastifyRequest, users: readonly User[], commKey: string): Caller {
  const found = identifyUser(req, users, commKey);
  if (found.superAdmin || !found.admin) return found;
  const flag = (req.query as Record<string, unknown> | undefined)?.['superAdmin'];
  return { ...found, superAdmin: flag === 'true' };
}

function identifyUser(req: FastifyRequest, users: readonly User[], commKey: string): Caller {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const email = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1);
      const u = users.find((x) => x.email === email && x.password !== undefined && same(x.password, password));
      if (u) return { user: u, admin: u.admin, superAdmin: false };
    }
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') {
    const u = users.find((x) => x.key !== undefined && same(x.key, header));
    if (u) return { user: u, admin: u.admin, superAdmin: false };
  }
  const key = (req.query as Record<string, unknown> | undefined)?.['key'];
  if (typeof key === 'string') {
    if (same(key, commKey)) return { user: { id: ANONYMOUS_ID, email: 'anonymous', fullName: 'Anonymous User', admin: true }, admin: true, superAdmin: true };
    const u = users.find((x) => x.key !== undefined && same(x.key, key));
    if (u) return { user: u, admin: u.admin, superAdmin: false };
  }
  return { user: undefined, admin: false, superAdmin: false };
}

/** Clowder's 403 for a known user without the permission (PermissionAction). */
export const forbidden = () => plainText(403, 'Not authorized');

/** What a permission check needs of a resource: its author and the spaces it is in. */
export interface Owned {
  authorId: string;
  spaces?: readonly string[];
}

const EDIT_ROLES = new Set(['Admin', 'Editor']);

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
   * Permission.checkPermission for a write on `rec` (AddResourceToCollection,
   * AddResourceToDataset, AddMetadata, DeleteDataset…): super-admin mode, the
   * author, or an Admin/Editor role in one of the spaces the resource is in.
   * A space itself: its author or an Admin/Editor role in it.
   */
  edit(c: Caller, rec: Owned | undefined, spaces: ReadonlyMap<string, Space>, self?: Space): void {
    if (c.superAdmin) return;
    const user = this.write(c);
    if (!rec) throw forbidden();
    if (rec.authorId === user.id) return;
    const inSpaces = self ? [self] : (rec.spaces ?? []).map((id) => spaces.get(id)).filter((x): x is Space => !!x);
    if (inSpaces.some((s) => s.authorId === user.id || EDIT_ROLES.has(s.roles?.[user.id] ?? ''))) return;
    throw forbidden();
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
