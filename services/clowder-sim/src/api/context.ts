import type { FastifyRequest } from 'fastify';
import type { Store } from '../adapters/store.js';
import type { User } from '../core/model.js';
import { isObjectId } from '../core/object-id.js';
import { parseBool, parseIntParam } from '../core/search.js';
import { Access, identify, type Caller } from './auth.js';
import { badRequest, cannotParse } from './replies.js';
import type { EventLog } from './events.js';

/** What every route needs, built once per app. */
export interface ApiContext {
  store: Store;
  users: readonly User[];
  access: Access;
  commKey: string;
  sourcePaths: readonly string[];
  mimeTypes: Readonly<Record<string, string>>;
  publicUrl: string;
  events: EventLog;
  now: () => number;
  faults: { insertFailureRate: number };
}

export type Body = { json: unknown } | { invalidJson: true } | { multipart: import('../adapters/multipart.js').Part[] } | { other: true } | undefined;

export function caller(ctx: ApiContext, req: FastifyRequest): Caller {
  return identify(req, ctx.users, ctx.commKey);
}

/** A path id that is not an ObjectId is a 400 from Play's binder, before any handler code. */
export function oid(req: FastifyRequest, name: string): string {
  const v = (req.params as Record<string, string>)[name] ?? '';
  if (!isObjectId(v)) throw cannotParse(req, name);
  return v;
}

export function query(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, string | string[] | undefined>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q ?? {})) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}

export function boolParam(req: FastifyRequest, name: string, dflt: boolean): boolean {
  const v = parseBool(query(req)[name], dflt);
  if (v === undefined) throw cannotParse(req, name);
  return v;
}

export function intParam(req: FastifyRequest, name: string, dflt: number): number {
  const v = parseIntParam(query(req)[name], dflt);
  if (v === undefined) throw cannotParse(req, name);
  return v;
}

/** A JSON-bodied action: wrong content type and unparseable JSON are Global.scala's 400s. */
export function jsonBody(req: FastifyRequest): unknown {
  const b = req.body as Body;
  if (b && 'json' in b) return b.json;
  if (b && 'invalidJson' in b) throw badRequest(req, 'Invalid Json');
  throw badRequest(req, 'Expecting text/json or application/json body');
}

/** `(body \ key).asOpt[String]`: only a JSON string counts. */
export function str(body: unknown, key: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** `(body \ key).asOpt[List[String]]`: only an array of strings counts; a plain string is ignored (a real Clowder pitfall). */
export function strList(body: unknown, key: string): string[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[key];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}
