import { javaDate } from '../core/java-date.js';
import type { Collection, Dataset, FileRecord, MetadataRecord, Space, User } from '../core/model.js';

/** The JSON shapes Clowder returns, quirks included. */

export const datasetJson = (d: Dataset) => ({
  id: d.id,
  name: d.name,
  description: d.description,
  created: javaDate(d.created),
  thumbnail: null,
  authorId: d.authorId,
  spaces: d.spaces,
  resource_type: 'dataset',
});

/** Collection list items use `collectionname`, not `name`. */
export const collectionListJson = (c: Collection) => ({
  id: c.id,
  collectionname: c.name,
  description: c.description,
  created: javaDate(c.created),
  thumbnail: null,
  authorId: c.authorId,
  resource_type: 'collection',
});

const scalaList = (xs: readonly string[]) => `List(${xs.join(', ')})`;

/** "jsonCollection": every value is a string, lists in Scala's `List(..)` form. */
export const jsonCollection = (c: Collection, author: string) => ({
  id: c.id,
  name: c.name,
  description: c.description,
  created: javaDate(c.created),
  author,
  root_flag: String(c.rootSpaces.length > 0),
  child_collection_ids: scalaList(c.children),
  parent_collection_ids: scalaList(c.parents),
  childCollectionsCount: String(c.children.length),
  datasetCount: String(c.datasets.length),
  spaces: scalaList(c.spaces),
});

export const spaceJson = (s: Space) => ({ id: s.id, name: s.name, description: s.description, created: javaDate(s.created) });

/** `size` is a string; `filepath` only for Admin callers and disk-stored files. */
export const fileListJson = (f: FileRecord, admin: boolean) => ({
  id: f.id,
  filename: f.filename,
  contentType: f.contentType,
  'date-created': javaDate(f.created),
  size: String(f.size),
  ...(admin && f.filepath !== undefined ? { filepath: f.filepath } : {}),
});

export const uploadedJson = (f: FileRecord) => ({ id: f.id, name: f.filename, status: 'CREATED', thumbnail: null, created: javaDate(f.created), resource_type: 'file' });

export const metadataJson = (m: MetadataRecord, publicUrl: string) => ({
  ...(m.context !== undefined ? { '@context': m.context } : {}),
  id: m.id,
  attached_to: { resource_type: `cat:${m.target.type}`, url: `${publicUrl}/${m.target.type}s/${m.target.id}` },
  created_at: javaDate(m.createdAt),
  agent: m.agent,
  content: m.content,
});

export const userName = (users: readonly User[], id: string) => users.find((u) => u.id === id)?.fullName ?? 'Anonymous User';
