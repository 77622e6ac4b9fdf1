/** The simulator's records: the fields of Clowder's Mongo documents that its API exposes. */

export interface User {
  id: string;
  email: string;
  fullName: string;
  /** Basic-auth password (local account). */
  password?: string;
  /** API key (X-API-Key or ?key=). */
  key?: string;
  admin: boolean;
}

export interface Space {
  id: string;
  name: string;
  description: string;
  created: number;
  authorId: string;
  collections: string[];
  datasets: string[];
  /** userId → role, as Clowder 1.x keeps it on the user (spaceandrole); absent: only the author. */
  roles?: Record<string, SpaceRole>;
}

/** Clowder 1.x's default roles: Admin and Editor may add to and edit what is in the space; Viewer only reads. */
type SpaceRole = 'Admin' | 'Editor' | 'Viewer';

export interface Collection {
  id: string;
  name: string;
  description: string;
  created: number;
  authorId: string;
  parents: string[];
  children: string[];
  datasets: string[];
  spaces: string[];
  /** Spaces in which this collection is a root collection. */
  rootSpaces: string[];
}

export interface Dataset {
  id: string;
  name: string;
  description: string;
  created: number;
  authorId: string;
  spaces: string[];
  collections: string[];
  files: string[];
}

export interface FileRecord {
  id: string;
  filename: string;
  contentType: string;
  created: number;
  size: number;
  authorId: string;
  datasetId: string;
  /** Path on disk for DiskByteStorageService files (registered by path); absent for uploaded bytes. */
  filepath?: string;
  /** Where uploaded bytes were stored. */
  blob?: string;
  status: 'CREATED' | 'UPLOADED' | 'PROCESSED';
}

export interface Agent {
  '@type': string;
  name: string;
  user_id?: string;
  extractor_id?: string;
  [k: string]: unknown;
}

export interface MetadataRecord {
  id: string;
  target: { type: 'dataset' | 'file'; id: string };
  context?: unknown;
  createdAt: number;
  agent: Agent;
  content: unknown;
}

/** Journal operations: every mutation of the store is one of these, appended before the reply. */
export type Op =
  | { op: 'space'; v: Space }
  | { op: 'collection'; v: Collection }
  | { op: 'dataset'; v: Dataset }
  | { op: 'file'; v: FileRecord }
  | { op: 'metadata'; v: MetadataRecord }
  | { op: 'subcollection'; parent: string; child: string }
  | { op: 'collection-dataset'; collection: string; dataset: string }
  | { op: 'space-collection'; space: string; collection: string }
  | { op: 'space-dataset'; space: string; dataset: string }
  | { op: 'space-role'; space: string; user: string; role: SpaceRole }
  | { op: 'delete-dataset'; id: string }
  | { op: 'delete-file'; id: string };
