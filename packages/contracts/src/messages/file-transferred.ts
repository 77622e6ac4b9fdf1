import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, absolutePath, Bytes, mtimeMs, Sensor, Sha, Site, TaskId, envelope } from './common.js';

/** Most files one chunk event (file.transferred, file.deleted, file.ingested) carries. */
export const MAX_CHUNK_FILES = 1000;

const Checksum = Type.Union([Sha, Type.Null()], { description: 'Checksum Globus verified; null when the task did not verify' });

/** One file of a file.transferred chunk. */
export const TransferredFile = Type.Object(
  {
    sensor: Sensor,
    path: absolutePath('Path in the cache'),
    sourcePath: AbsolutePath,
    destinationPath: AbsolutePath,
    size: Bytes,
    mtimeMs: mtimeMs('mtime recorded at upload; the cleaner deletes only if the file still has it'),
    checksum: Checksum,
    checksumAlgorithm: Type.Union([Type.String({ maxLength: 32 }), Type.Null()]),
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const FileTransferredData = Type.Object(
  {
    site: Site,
    taskId: TaskId,
    chunk: Type.Integer({ minimum: 0, description: "The chunk's index among the task's chunks of this site (0, 1, …): with the task id, the event id" }),
    files: Type.Array(TransferredFile, { minItems: 1, maxItems: MAX_CHUNK_FILES, description: "Files of the task that arrived, in the task's order; each is handled on its own (one file's failure is its own)" }),
  },
  { additionalProperties: false },
);

export const FileTransferred = envelope('file.transferred', 2, FileTransferredData, "Files of a finished Globus task arrived at the destination (successful_transfers), one chunk of the task's files per event (decision 0053).");
export type FileTransferred = Static<typeof FileTransferred>;
export type FileTransferredData = Static<typeof FileTransferredData>;
export type TransferredFile = Static<typeof TransferredFile>;

/** Version 1: one file per event. Still accepted by consumers (upgrade window, replays of old dead letters); no longer produced. */
export const FileTransferredV1Data = Type.Object({ site: Site, ...TransferredFile.properties, taskId: TaskId }, { additionalProperties: false });
export const FileTransferredV1 = envelope('file.transferred', 1, FileTransferredV1Data, 'A file arrived at the destination (Globus successful_transfers).');
export type FileTransferredV1 = Static<typeof FileTransferredV1>;

/** Any accepted version as a chunk: a version-1 event is a chunk of its one file. */
export function transferredChunk(e: FileTransferred | FileTransferredV1): FileTransferredData {
  if (e.version === 2) return e.data;
  const { site, taskId, ...file } = e.data;
  return { site, taskId, chunk: 0, files: [file] };
}
