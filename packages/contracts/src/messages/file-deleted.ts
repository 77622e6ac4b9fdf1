import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, Bytes, Site, TaskId, envelope } from './common.js';

export const FileDeletedData = Type.Object(
  {
    site: Site,
    path: AbsolutePath,
    bytesFreed: Bytes,
    taskId: TaskId,
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
  },
  { additionalProperties: false },
);

export const FileDeleted = envelope('file.deleted', 1, FileDeletedData, 'The cleaner removed a verified file from the cache.');
export type FileDeleted = Static<typeof FileDeleted>;
export type FileDeletedData = Static<typeof FileDeletedData>;
