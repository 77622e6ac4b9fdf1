import type { FastifyInstance, FastifySchema } from 'fastify';
import type { Collection, Space } from '../core/model.js';
import { sortAndLimit, titleMatcher } from '../core/search.js';
import { caller, intParam, boolParam, jsonBody, oid, query, str, type ApiContext } from './context.js';
import { collectionListJson, datasetJson, jsonCollection, spaceJson, userName } from './render.js';
import { jsonString } from './replies.js';
import { forbidden } from './auth.js';

// summary/tags feed the OpenAPI document (@fastify/swagger, registered by buildHttp).
const doc = (summary: string, tag: string) => ({ schema: { summary, tags: [tag] } as FastifySchema });

export function collectionRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, access } = ctx;
  const collOr = (c: ReturnType<typeof caller>, id: string) => access.found(c, store.collections.get(id), () => jsonString(400, 'collection not found'));
  const render = (coll: Collection) => jsonCollection(coll, userName(ctx.users, coll.authorId));

  const newCollection = (over: Partial<Collection>, name: string, description: string, authorId: string): Collection => {
    const coll: Collection = {
      id: store.ids.next(),
      name,
      description,
      created: ctx.now(),
      authorId,
      parents: [],
      children: [],
      datasets: [],
      spaces: [],
      rootSpaces: [],
      ...over,
    };
    store.apply({ op: 'collection', v: coll });
    return coll;
  };

  api.post('/collections', doc('Create a collection (space is a string here)', 'collections'), async (req) => {
    const user = access.write(caller(ctx, req));
    const body = jsonBody(req);
    const name = str(body, 'name');
    if (name === undefined) throw jsonString(400, 'Missing parameter [name]');
    const spaceId = str(body, 'space');
    let spaces: string[] = [];
    if (spaceId !== undefined && spaceId !== 'default') {
      // Clowder dereferences the missing space: a NullPointerException, i.e. a 500.
      if (!store.spaces.has(spaceId)) throw new Error(`java.lang.NullPointerException: space ${spaceId}`);
      spaces = [spaceId];
    }
    const coll = newCollection({ spaces, rootSpaces: [...spaces] }, name, str(body, 'description') ?? '', user.id);
    return { id: coll.id };
  });

  api.post('/collections/newCollectionWithParent', doc('Create a collection under a parent (silently unlinked if the parent is missing)', 'collections'), async (req) => {
    const user = access.write(caller(ctx, req));
    const body = jsonBody(req);
    const name = str(body, 'name');
    if (name === undefined) throw jsonString(400, 'Missing parameter [name]');
    const parent = str(body, 'parentId');
    const parentColl = parent ? store.collections.get(parent) : undefined;
    const spaceId = str(body, 'space');
    // Clowder evaluates (and discards) BadRequest("Bad space"), then inserts a null collection: a 500, nothing created.
    if (spaceId !== undefined && spaceId !== 'default' && !store.spaces.has(spaceId)) throw new Error(`java.lang.NullPointerException: Bad space = ${spaceId}`);
    const space = spaceId !== undefined && store.spaces.has(spaceId) ? spaceId : undefined;
    const spaces = new Set<string>(parentColl?.spaces ?? []);
    if (space) spaces.add(space);
    const coll = newCollection(
      { parents: parentColl ? [parentColl.id] : [], spaces: [...spaces], rootSpaces: space ? [space] : [] },
      name,
      str(body, 'description') ?? '',
      user.id,
    );
    return { id: coll.id };
  });

  api.post('/collections/:parent/addSubCollection/:child', doc('Link a child collection ($addToSet, idempotent)', 'collections'), async (req) => {
    const parent = oid(req, 'parent');
    const child = oid(req, 'child');
    const c = caller(ctx, req);
    access.write(c);
    // AddResourceToCollection on the parent: its author, an editor of one of its spaces, or super-admin mode.
    access.edit(c, collOr(c, parent), store.spaces);
    collOr(c, child);
    store.apply({ op: 'subcollection', parent, child });
    return render(store.collections.get(parent)!);
  });

  api.get('/collections', doc('List collections; items use `collectionname`', 'collections'), async (req) => {
    const c = caller(ctx, req);
    access.read(c);
    const exact = boolParam(req, 'exact', false);
    const limit = intParam(req, 'limit', 12);
    const title = query(req)['title'];
    let found: Collection[];
    if (title === undefined) found = [...store.collections.values()];
    else if (exact) found = [...(store.collectionsByName.get(title) ?? [])].map((id) => store.collections.get(id)!).filter(Boolean);
    else {
      const match = titleMatcher(title, false);
      found = [...store.collections.values()].filter((x) => match(x.name));
    }
    return sortAndLimit(found, limit).map(collectionListJson);
  });

  api.get('/collections/:id', doc('A collection in the all-strings jsonCollection form', 'collections'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    return render(collOr(c, id));
  });

  api.delete('/collections/:id', doc('Delete a collection (its children and datasets are only unlinked)', 'collections'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.write(c);
    access.edit(c, collOr(c, id), store.spaces);
    store.apply({ op: 'delete-collection', id });
    return { status: 'success' };
  });

  api.get('/collections/:id/getChildCollections', doc('Child collections (jsonCollection)', 'collections'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    return collOr(c, id).children.map((x) => store.collections.get(x)).filter((x): x is Collection => !!x).map(render);
  });

  api.get('/collections/:id/datasets', doc('Datasets of a collection', 'collections'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    return collOr(c, id).datasets.map((d) => store.datasets.get(d)).filter((d) => !!d).map((d) => datasetJson(d!));
  });

  api.post('/collections/:coll/datasets/:ds', doc('Add a dataset to a collection ($addToSet)', 'collections'), async (req) => {
    const coll = oid(req, 'coll');
    const ds = oid(req, 'ds');
    const c = caller(ctx, req);
    access.write(c);
    access.edit(c, collOr(c, coll), store.spaces);
    access.found(c, store.datasets.get(ds), () => jsonString(404, `Could not find dataset with id [${ds}]`));
    store.apply({ op: 'collection-dataset', collection: coll, dataset: ds });
    return { datasetsInCollection: store.collections.get(coll)!.datasets.length };
  });

  // ---- spaces
  api.post('/spaces', doc('Create a space (name and description required)', 'spaces'), async (req) => {
    const user = access.write(caller(ctx, req));
    const body = jsonBody(req);
    const name = str(body, 'name');
    const description = str(body, 'description');
    if (name === undefined || description === undefined) throw jsonString(400, 'Missing required parameters');
    const s: Space = { id: store.ids.next(), name, description, created: ctx.now(), authorId: user.id, collections: [], datasets: [] };
    store.apply({ op: 'space', v: s });
    return { id: s.id };
  });

  api.get('/spaces/:id', doc('A space by id', 'spaces'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    return spaceJson(access.found(c, store.spaces.get(id), () => jsonString(404, `Space ${id} not found`)));
  });

  api.get('/spaces', doc('List spaces; title is always a regex (no exact parameter)', 'spaces'), async (req) => {
    const c = caller(ctx, req);
    access.read(c);
    const limit = intParam(req, 'limit', 12);
    const title = query(req)['title'];
    const match = title === undefined ? () => true : titleMatcher(title, false);
    return sortAndLimit([...store.spaces.values()].filter((s) => match(s.name)), limit).map(spaceJson);
  });

  // Only the resource's owner may put it in a space (the commKey or super-admin mode pass; a server admin without it does not).
  const owner = (c: ReturnType<typeof caller>, authorId: string) => {
    if (!c.superAdmin && c.user?.id !== authorId) throw forbidden();
  };

  api.post('/spaces/:space/updateUsers', doc('Give users roles in a space: {"rolesandusers":{"Editor":"<userId>,<userId>"}} (space admin)', 'spaces'), async (req) => {
    const space = oid(req, 'space');
    const c = caller(ctx, req);
    access.write(c);
    const s = access.found(c, store.spaces.get(space), () => jsonString(404, `Space ${space} not found`));
    if (!c.superAdmin && s.authorId !== c.user!.id && s.roles?.[c.user!.id] !== 'Admin') throw forbidden();
    const body = jsonBody(req);
    const map = body && typeof body === 'object' ? (body as Record<string, unknown>)['rolesandusers'] : undefined;
    if (!map || typeof map !== 'object') throw jsonString(400, 'Missing parameter [rolesandusers]');
    for (const [role, ids] of Object.entries(map as Record<string, unknown>)) {
      if (role !== 'Admin' && role !== 'Editor' && role !== 'Viewer') throw jsonString(400, `Unknown role ${role}`);
      if (typeof ids !== 'string') throw jsonString(400, 'Missing parameter [rolesandusers]');
      for (const user of ids.split(',').map((x) => x.trim()).filter(Boolean)) store.apply({ op: 'space-role', space, user, role });
    }
    return { status: 'success' };
  });

  api.post('/spaces/:space/addCollectionToSpace/:coll', doc('Add a collection to a space (owner or admin)', 'spaces'), async (req) => {
    const space = oid(req, 'space');
    const coll = oid(req, 'coll');
    const c = caller(ctx, req);
    access.write(c);
    const s = access.found(c, store.spaces.get(space), () => jsonString(404, `Space ${space} not found`));
    const col = access.found(c, store.collections.get(coll), () => jsonString(404, `Collection ${coll} not found`));
    access.edit(c, s, store.spaces, s);
    owner(c, col.authorId);
    store.apply({ op: 'space-collection', space, collection: coll });
    return { collectionInSpace: String(s.collections.length) };
  });

  api.post('/spaces/:space/addDatasetToSpace/:ds', doc('Add a dataset to a space (owner or admin)', 'spaces'), async (req) => {
    const space = oid(req, 'space');
    const ds = oid(req, 'ds');
    const c = caller(ctx, req);
    access.write(c);
    const s = access.found(c, store.spaces.get(space), () => jsonString(404, `Space ${space} not found`));
    const d = access.found(c, store.datasets.get(ds), () => jsonString(404, `Dataset ${ds} not found`));
    access.edit(c, s, store.spaces, s);
    owner(c, d.authorId);
    store.apply({ op: 'space-dataset', space, dataset: ds });
    return { datasetsInSpace: String(s.datasets.length) };
  });
}
