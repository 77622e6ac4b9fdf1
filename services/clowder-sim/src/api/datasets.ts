import { statSync } from 'node:fs';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { writeBlob } from '../adapters/store.js';
import { fileRoutingKey, mimeOf } from '../core/mime.js';
import type { Dataset, FileRecord, MetadataRecord } from '../core/model.js';
import { sortAndLimit, titleMatcher } from '../core/search.js';
import { caller, intParam, boolParam, jsonBody, oid, query, str, strList, type ApiContext, type Body } from './context.js';
import { datasetJson, fileListJson, uploadedJson } from './render.js';
import { jsonString, plainText } from './replies.js';

const doc = (summary: string) => ({ schema: { summary, tags: ['datasets'] } as FastifySchema });

export function datasetRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const { store, access } = ctx;
  const datasetOr404 = (c: ReturnType<typeof caller>, id: string) =>
    access.found(c, store.datasets.get(id), () => jsonString(404, `Could not find dataset with id [${id}]`));

  api.post('/datasets/createempty', doc('Create an empty dataset (space and collection must be arrays)'), async (req) => {
    const c = caller(ctx, req);
    const user = access.write(c);
    const body = jsonBody(req);
    const name = str(body, 'name');
    if (name === undefined) throw jsonString(400, 'Missing parameter [name]');
    // A failed Mongo insert is reported with status 200.
    if (ctx.faults.insertFailureRate > 0 && Math.random() < ctx.faults.insertFailureRate) return { status: 'error' };
    const spaces = (strList(body, 'space') ?? []).filter((s) => store.spaces.has(s));
    const collections = (strList(body, 'collection') ?? []).filter((id) => store.collections.has(id));
    const d: Dataset = {
      id: store.ids.next(),
      name,
      description: str(body, 'description') ?? '',
      created: ctx.now(),
      authorId: user.id,
      spaces,
      collections,
      files: [],
    };
    store.apply({ op: 'dataset', v: d });
    return { id: d.id };
  });

  api.get('/datasets', doc('List datasets; title is a case-insensitive unanchored regex unless exact=true'), async (req) => {
    const c = caller(ctx, req);
    access.read(c);
    const exact = boolParam(req, 'exact', false);
    const limit = intParam(req, 'limit', 12);
    const title = query(req)['title'];
    let found: Dataset[];
    if (title === undefined) found = [...store.datasets.values()];
    else if (exact) found = [...(store.datasetsByName.get(title) ?? [])].map((id) => store.datasets.get(id)!).filter(Boolean);
    else {
      const match = titleMatcher(title, false);
      found = [...store.datasets.values()].filter((d) => match(d.name));
    }
    return sortAndLimit(found, limit).map(datasetJson);
  });

  api.get('/datasets/:id', doc('Get a dataset'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    return datasetJson(datasetOr404(c, id));
  });

  api.delete('/datasets/:id', doc('Delete a dataset and its files'), async (req) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.write(c);
    access.edit(c, datasetOr404(c, id), store.spaces);
    store.apply({ op: 'delete-dataset', id });
    return { status: 'success' };
  });

  const listFiles = async (req: import('fastify').FastifyRequest) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.read(c);
    const d = datasetOr404(c, id);
    return d.files.map((f) => store.files.get(f)).filter((f): f is FileRecord => !!f).map((f) => fileListJson(f, c.admin));
  };
  api.get('/datasets/:id/listFiles', doc('Files directly in the dataset (filepath for Admin callers)'), listFiles);
  api.get('/datasets/:id/files', doc('Files in the dataset and its folders'), listFiles);

  const upload = (withExtract: boolean) => async (req: import('fastify').FastifyRequest) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    const user = access.write(c);
    const extract = withExtract ? boolParam(req, 'extract', true) : true;
    const d = access.found(c, store.datasets.get(id), () => plainText(404, `Dataset with id=${id} does not exist`));
    // AddResourceToDataset: the dataset's author, an editor of one of its spaces, or super-admin mode.
    access.edit(c, d, store.spaces);
    const body = req.body as Body;
    const parts = body && 'multipart' in body ? body.multipart : [];
    const accepted: FileRecord[] = [];
    const fileMd: Array<{ file: FileRecord; md: Record<string, unknown> }> = [];
    const dataByField = new Map(parts.filter((p) => p.kind === 'data').map((p) => [p.field, p.kind === 'data' ? p.value : '']));
    for (const p of parts) {
      if (p.kind === 'file') {
        const f: FileRecord = {
          id: store.ids.next(),
          filename: p.filename,
          contentType: mimeOf(p.filename, ctx.mimeTypes),
          created: ctx.now(),
          size: p.bytes.length,
          authorId: user.id,
          datasetId: d.id,
          status: 'CREATED',
        };
        if (store.blobDir) f.blob = writeBlob(store.blobDir, f.id, p.bytes);
        accepted.push(f);
        // A data part keyed by the filename is that file's metadata.
        const md = parseObject(dataByField.get(p.filename));
        if (md) fileMd.push({ file: f, md });
        continue;
      }
      if (p.field !== 'file') continue;
      const spec = parseObject(p.value);
      const path = spec && typeof spec['path'] === 'string' ? spec['path'] : undefined;
      if (!path) continue;
      // Not whitelisted: silently skipped (partial success is silent too).
      if (!ctx.sourcePaths.some((prefix) => path.startsWith(prefix))) continue;
      const filename = path.slice(path.lastIndexOf('/') + 1);
      const f: FileRecord = {
        id: store.ids.next(),
        filename,
        contentType: mimeOf(filename, ctx.mimeTypes),
        created: ctx.now(),
        size: sizeOf(path),
        authorId: user.id,
        datasetId: d.id,
        filepath: path,
        status: 'CREATED',
      };
      accepted.push(f);
      const md = spec?.['md'] ?? spec?.['metadata'];
      if (md && typeof md === 'object' && !Array.isArray(md)) fileMd.push({ file: f, md: md as Record<string, unknown> });
    }
    if (accepted.length === 0) throw plainText(400, 'No files uploaded');
    for (const f of accepted) {
      store.apply({ op: 'file', v: f });
      if (extract) {
        ctx.events.emit({ routingKey: fileRoutingKey(f.contentType), id: f.id, datasetId: d.id, at: f.created });
        ctx.events.emit({ routingKey: 'clowder.dataset.file.added', id: f.id, datasetId: d.id, at: f.created });
      }
    }
    for (const { file, md } of fileMd) {
      const { '@context': context, ...content } = md;
      const rec: MetadataRecord = {
        id: store.ids.next(),
        target: { type: 'file', id: file.id },
        ...(context !== undefined ? { context } : {}),
        createdAt: ctx.now(),
        agent: { '@type': 'cat:user', name: user.fullName, user_id: `${ctx.publicUrl}/api/users/${user.id}` },
        content,
      };
      store.apply({ op: 'metadata', v: rec });
    }
    if (accepted.length === 1) return { id: accepted[0]!.id };
    return { ids: accepted.map(uploadedJson) };
  };
  // Clowder's Files.removeFile: success also when the file is already gone (after the permission check).
  const removeFile = async (req: import('fastify').FastifyRequest) => {
    const id = oid(req, 'id');
    const c = caller(ctx, req);
    access.write(c);
    const f = store.files.get(id);
    if (f) access.edit(c, store.datasets.get(f.datasetId) ?? f, store.spaces);
    if (f) store.apply({ op: 'delete-file', id });
    return { status: 'success' };
  };
  api.delete('/files/:id', doc('Delete a file (removed from its dataset)'), removeFile);
  api.post('/files/:id/remove', doc('Delete a file (POST form)'), removeFile);
  api.post('/uploadToDataset/:id', doc('Add files to a dataset: file parts (bytes) or `file` data parts {"path"} (by path)'), upload(true));
  api.post('/datasets/:id/files', doc('Same as uploadToDataset, without the extract parameter'), upload(false));
}

function parseObject(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `File(path).length()`: 0 when the file does not exist (no existence check). */
function sizeOf(path: string): number {
  try {
    // A missing file is common (Clowder's paths need not exist here): no exception built for it.
    return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
}
