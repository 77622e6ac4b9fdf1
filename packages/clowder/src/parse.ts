import { ClowderProtocolError } from './errors.js';
import type { Collection, CollectionSummary, Dataset, DatasetFile, MetadataRecord, Space, UploadedFile } from './types.js';

const OBJECT_ID = /^[0-9a-f]{24}$/;
export const isObjectId = (s: unknown): s is string => typeof s === 'string' && OBJECT_ID.test(s);

type Obj = Record<string, unknown>;
const obj = (v: unknown, what: string): Obj => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ClowderProtocolError(`${what}: expected a JSON object`);
  return v as Obj;
};
const arr = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new ClowderProtocolError(`${what}: expected a JSON array`);
  return v;
};
const s = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
const id = (v: unknown, what: string): string => {
  if (!isObjectId(v)) throw new ClowderProtocolError(`${what}: id ${JSON.stringify(v)} is not an ObjectId`);
  return v;
};

/** Scala's "List(a, b)" (jsonCollection) or a real array. */
export function scalaList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(s);
  const m = /^List\((.*)\)$/.exec(s(v).trim());
  if (!m) return [];
  return m[1]!.split(',').map((x) => x.trim()).filter(Boolean);
}

export const parseDataset = (v: unknown): Dataset => {
  const o = obj(v, 'dataset');
  return { id: id(o['id'], 'dataset'), name: s(o['name']), description: s(o['description']), created: s(o['created']), authorId: s(o['authorId']), spaces: scalaList(o['spaces'] ?? []) };
};

/** Collection list items name the field `collectionname`; older builds used `name`. */
export const parseCollectionSummary = (v: unknown): CollectionSummary => {
  const o = obj(v, 'collection');
  return { id: id(o['id'], 'collection'), name: s(o['collectionname'] ?? o['name']), description: s(o['description']), created: s(o['created']), authorId: s(o['authorId']) };
};

/** jsonCollection: every value a string. */
export const parseCollection = (v: unknown): Collection => {
  const o = obj(v, 'collection');
  return {
    id: id(o['id'], 'collection'),
    name: s(o['name'] ?? o['collectionname']),
    description: s(o['description']),
    created: s(o['created']),
    author: s(o['author']),
    root: s(o['root_flag']) === 'true',
    childCollectionIds: scalaList(o['child_collection_ids']),
    parentCollectionIds: scalaList(o['parent_collection_ids']),
    childCollectionsCount: Number(s(o['childCollectionsCount'])) || 0,
    datasetCount: Number(s(o['datasetCount'])) || 0,
    spaces: scalaList(o['spaces']),
  };
};

export const parseSpace = (v: unknown): Space => {
  const o = obj(v, 'space');
  return { id: id(o['id'], 'space'), name: s(o['name']), description: s(o['description']), created: s(o['created']) };
};

export const parseFile = (v: unknown): DatasetFile => {
  const o = obj(v, 'file');
  const f: DatasetFile = {
    id: id(o['id'], 'file'),
    filename: s(o['filename']),
    contentType: s(o['contentType']),
    created: s(o['date-created']),
    size: Number(s(o['size'])) || 0,
  };
  if (typeof o['filepath'] === 'string') f.filepath = o['filepath'];
  return f;
};

export const parseList = <T>(v: unknown, what: string, item: (x: unknown) => T): T[] => arr(v, what).map(item);

/** `{"id"}` when exactly one file was accepted, `{"ids":[{id,name,...}]}` when more. */
export function parseUpload(v: unknown): UploadedFile[] {
  const o = obj(v, 'upload');
  if (Array.isArray(o['ids'])) return o['ids'].map((x) => {
    const e = obj(x, 'upload item');
    return { id: id(e['id'], 'upload item'), name: s(e['name']) };
  });
  if (o['id'] !== undefined) return [{ id: id(o['id'], 'upload') }];
  throw new ClowderProtocolError(`upload: neither "id" nor "ids" in ${JSON.stringify(v).slice(0, 200)}`);
}

/** `{"id":"..."}` from a create call. */
export function parseCreated(v: unknown, what: string): string {
  return id(obj(v, what)['id'], what);
}

export const parseMetadata = (v: unknown): MetadataRecord => obj(v, 'metadata') as unknown as MetadataRecord;
