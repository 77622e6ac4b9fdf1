import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, absolutePath, Site, Sensor, TaskId, envelope } from './common.js';
import { ChunkFileFailure } from './file-deleted.js';
import { MAX_CHUNK_FILES } from './file-transferred.js';

const ObjectId = Type.String({ pattern: '^[0-9a-f]{24}$' });
const UploadId = Type.String({ minLength: 1, maxLength: 512 });

const ingestedFields = {
  sensor: Sensor,
  destinationPath: AbsolutePath,
  clowderPath: absolutePath('The path Clowder registered'),
  fileId: Type.Union([ObjectId, Type.Null()], { description: 'The Clowder file; null for a `*metadata.json` attached as its dataset\'s metadata only (site setting `clowder.metadataAsFile: false`)' }),
  datasetId: ObjectId,
  datasetName: Type.String({ minLength: 1 }),
  collectionIds: Type.Array(ObjectId, { description: 'Collection chain, root first' }),
  spaceId: Type.Union([ObjectId, Type.Null()]),
  uploadId: UploadId,
};

export const IngestedFile = Type.Object(ingestedFields, { additionalProperties: false });

export const FileIngestedData = Type.Object(
  {
    site: Site,
    taskId: TaskId,
    files: Type.Array(IngestedFile, { maxItems: MAX_CHUNK_FILES, description: 'Files of the chunk registered in Clowder' }),
    failed: Type.Array(ChunkFileFailure, { maxItems: MAX_CHUNK_FILES, description: 'Files of the chunk that cannot be registered (dead-lettered one by one); `path` is the destination path' }),
  },
  { additionalProperties: false },
);

export const FileIngested = envelope('file.ingested', 2, FileIngestedData, "clowder-ingest's outcome for a chunk of file.transferred: the files registered in Clowder, and those it gave up (decision 0053).");
export type FileIngested = Static<typeof FileIngested>;
export type FileIngestedData = Static<typeof FileIngestedData>;
export type IngestedFile = Static<typeof IngestedFile>;

/** Version 1: one file per event, no task id. Still accepted by consumers; no longer produced. */
export const FileIngestedV1 = envelope('file.ingested', 1, Type.Object({ site: Site, ...ingestedFields }, { additionalProperties: false }), 'A transferred file is registered in Clowder.');
export type FileIngestedV1 = Static<typeof FileIngestedV1>;

/** Any accepted version as a chunk outcome; a version-1 event has no task id (null). */
export function ingestedChunk(e: FileIngested | FileIngestedV1): Omit<FileIngestedData, 'taskId'> & { taskId: string | null } {
  if (e.version === 2) return e.data;
  const { site, ...file } = e.data;
  return { site, taskId: null, files: [file], failed: [] };
}
