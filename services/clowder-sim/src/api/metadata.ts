import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Agent, MetadataRecord } from '../core/model.js';
import { caller, jsonBody, oid, query, type ApiContext } from './context.js';
import { metadataJson } from './render.js';
import { jsonString } from './replies.js';

const doc = (summary: string) => ({ schema: { summary, tags: ['metadata'] } as FastifySchema });

const parseableUrl = (s: unknown): s is string => {
  if (typeof s !== 'string') return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
};

export function metadataRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, access } = ctx;

  const add = (type: 'dataset' | 'file') => async (req: FastifyRequest, reply: FastifyReply) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.write(c);
    const target = type === 'dataset' ? store.datasets.get(id) : store.files.get(id);
    const found = access.found(c, target, () => jsonString(404, `Error getting ${type} ${id}`));
    // AddMetadata: on the dataset (a file's: on the dataset it is in).
    const owned = 'datasetId' in found ? (store.datasets.get(found.datasetId) ?? found) : found;
    access.edit(c, owned, store.spaces);
    const body = jsonBody(req) as Record<string, unknown> | null;
    const rawAgent = body && typeof body === 'object' ? body['agent'] : undefined;
    // Clowder reads agent.@type unguarded: a missing agent or type is an exception, a 500.
    if (!rawAgent || typeof rawAgent !== 'object' || typeof (rawAgent as Record<string, unknown>)['@type'] !== 'string') {
      throw new Error('java.util.NoSuchElementException: agent.@type');
    }
    const a = rawAgent as Record<string, unknown>;
    const userId = a['user_id'];
    const extractorId = a['extractor_id'];
    if (userId === undefined && extractorId === undefined) throw jsonString(400, 'Creator data is missing or incorrect.');
    for (const u of [userId, extractorId]) if (u !== undefined && !parseableUrl(u)) throw new Error(`java.net.MalformedURLException: ${String(u)}`);
    let name = typeof a['name'] === 'string' ? a['name'] : 'Unknown';
    const m = typeof userId === 'string' ? /\/api\/users\/([0-9a-f]{24})$/.exec(userId) : null;
    if (m) name = ctx.users.find((u) => u.id === m[1])?.fullName ?? (m[1] === '000000000000000000000000' ? 'Anonymous User' : name);
    const agent: Agent = { ...(a as Agent), name };
    let context: unknown = body?.['@context'];
    if (typeof context === 'string' && !parseableUrl(context)) throw new Error(`java.net.MalformedURLException: ${context}`);
    // Datasets keep a string or object @context and drop an array; files keep arrays too.
    if (type === 'dataset' && Array.isArray(context)) context = undefined;
    let createdAt = ctx.now();
    if (type === 'file' && typeof body?.['created_at'] === 'string' && !Number.isNaN(Date.parse(body['created_at']))) createdAt = Date.parse(body['created_at']);
    const rec: MetadataRecord = {
      id: store.ids.next(),
      target: { type, id },
      ...(context !== undefined && context !== null ? { context } : {}),
      createdAt,
      agent,
      content: body?.['content'] ?? {},
    };
    store.apply({ op: 'metadata', v: rec });
    ctx.events.emit({ routingKey: `clowder.metadata.added.${type}`, id, at: createdAt });
    // A JSON string, not plain text.
    return reply.type('application/json').send(JSON.stringify('Metadata successfully added to db'));
  };

  const list = (type: 'dataset' | 'file') => async (req: FastifyRequest) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    const target = type === 'dataset' ? store.datasets.get(id) : store.files.get(id);
    access.found(c, target, () => jsonString(404, `Error getting ${type} ${id}`));
    const extractor = query(req)['extractor'];
    const re = extractor !== undefined ? new RegExp(`.*extractors/${extractor}$`) : undefined;
    return (store.metadataOf.get(`${type}:${id}`) ?? [])
      .map((mid) => store.metadata.get(mid)!)
      .filter((m) => !re || (typeof m.agent.extractor_id === 'string' && re.test(m.agent.extractor_id)))
      .sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? 1 : -1))
      .map((m) => metadataJson(m, ctx.publicUrl));
  };


  api.post('/datasets/:id/metadata.jsonld', doc('Append a JSON-LD metadata record to a dataset (no de-duplication)'), add('dataset'));
  api.post('/files/:id/metadata.jsonld', doc('Append a JSON-LD metadata record to a file'), add('file'));
  api.get('/datasets/:id/metadata.jsonld', doc('Metadata of a dataset, newest first'), list('dataset'));
  api.get('/files/:id/metadata.jsonld', doc('Metadata of a file, newest first'), list('file'));
}
