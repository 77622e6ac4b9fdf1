import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, absolutePath, Bytes, mtimeMs, Sensor, Sha, Site, TaskId, envelope } from './common.js';

export const FileTransferredData = Type.Object(
  {
    site: Site,
    sensor: Sensor,
    path: absolutePath('Path in the cache'),
    sourcePath: AbsolutePath,
    destinationPath: AbsolutePath,
    size: Bytes,
    mtimeMs: mtimeMs('mtime recorded at upload; the cleaner deletes only if the file still has it'),
    checksum: Type.Union([Sha, Type.Null()], { description: 'Checksum Globus verified; null when the task did not verify' }),
    checksumAlgorithm: Type.Union([Type.String({ maxLength: 32 }), Type.Null()]),
    taskId: TaskId,
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const FileTransferred = envelope('file.transferred', 1, FileTransferredData, 'A file arrived at the destination (Globus successful_transfers).');
export type FileTransferred = Static<typeof FileTransferred>;
export type FileTransferredData = Static<typeof FileTransferredData>;
