import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, absolutePath, Bytes, Site, TaskId, envelope } from './common.js';
import { MAX_CHUNK_FILES } from './file-transferred.js';

const UploadId = Type.String({ minLength: 1, maxLength: 512 });

export const DeletedFile = Type.Object({ path: AbsolutePath, bytesFreed: Bytes, uploadId: UploadId }, { additionalProperties: false });

/** A file of a chunk its consumer failed for good: dead-lettered on its own (a one-file chunk) so an operator can replay it. */
export const ChunkFileFailure = Type.Object(
  {
    path: absolutePath('The path the consumer handles: the cache path (cleaner), the destination path (clowder-ingest)'),
    uploadId: UploadId,
    code: Type.String({ minLength: 1, maxLength: 64, description: 'Stable error code (docs/errors.md)' }),
    detail: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const FileDeletedData = Type.Object(
  {
    site: Site,
    taskId: TaskId,
    files: Type.Array(DeletedFile, { maxItems: MAX_CHUNK_FILES, description: 'Files removed from the cache (bytesFreed 0: found already gone, bookkeeping finished)' }),
    failed: Type.Array(ChunkFileFailure, { maxItems: MAX_CHUNK_FILES, description: 'Files of the chunk refused for good (kept, dead-lettered one by one)' }),
  },
  { additionalProperties: false },
);

export const FileDeleted = envelope('file.deleted', 2, FileDeletedData, "The cleaner's outcome for a chunk of file.transferred: the verified files it removed from the cache, and those it refused (decision 0053).");
export type FileDeleted = Static<typeof FileDeleted>;
export type FileDeletedData = Static<typeof FileDeletedData>;
export type DeletedFile = Static<typeof DeletedFile>;
export type ChunkFileFailure = Static<typeof ChunkFileFailure>;

/** Version 1: one file per event. Still accepted by consumers; no longer produced. */
export const FileDeletedV1 = envelope('file.deleted', 1, Type.Object(
  { site: Site, path: AbsolutePath, bytesFreed: Bytes, taskId: TaskId, uploadId: UploadId },
  { additionalProperties: false },
), 'The cleaner removed a verified file from the cache.');
export type FileDeletedV1 = Static<typeof FileDeletedV1>;

/** Any accepted version as a chunk outcome. */
export function deletedChunk(e: FileDeleted | FileDeletedV1): FileDeletedData {
  if (e.version === 2) return e.data;
  const { site, taskId, path, bytesFreed, uploadId } = e.data;
  return { site, taskId, files: [{ path, bytesFreed, uploadId }], failed: [] };
}
