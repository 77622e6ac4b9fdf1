/** Clowder's shapes, normalized: `collectionname` → name, string sizes → numbers, "List(..)" → arrays. */

export interface Dataset {
  id: string;
  name: string;
  description: string;
  created: string;
  authorId: string;
  spaces: string[];
}

export interface CollectionSummary {
  id: string;
  name: string;
  description: string;
  created: string;
  authorId: string;
}

export interface Collection {
  id: string;
  name: string;
  description: string;
  created: string;
  author: string;
  root: boolean;
  childCollectionIds: string[];
  parentCollectionIds: string[];
  childCollectionsCount: number;
  datasetCount: number;
  spaces: string[];
}

export interface Space {
  id: string;
  name: string;
  description: string;
  created: string;
}

export interface DatasetFile {
  id: string;
  filename: string;
  contentType: string;
  created: string;
  size: number;
  /** Only for Admin callers (the commKey counts) and disk-stored files. */
  filepath?: string;
}

/** One file accepted by uploadToDataset. `name` is absent when Clowder answered `{"id"}` (exactly one accepted). */
export interface UploadedFile {
  id: string;
  name?: string;
}

export interface MetadataRecord {
  id?: string;
  '@context'?: unknown;
  attached_to?: { resource_type: string; url: string };
  created_at?: string;
  agent: { '@type': string; name?: string; user_id?: string; extractor_id?: string };
  content: unknown;
}

export interface PathPart {
  path: string;
  /** Optional file metadata, attached by Clowder with the uploading user as agent. */
  md?: Record<string, unknown>;
}
