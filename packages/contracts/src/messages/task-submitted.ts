import { Type, type Static } from '@sinclair/typebox';
import { absolutePath, Bytes, Iso, MtimeMs, Sensor, Site, TaskId, envelope } from './common.js';

export const TaskFile = Type.Object(
  {
    path: absolutePath('Path in the cache'),
    sourcePath: absolutePath('Path as the source endpoint sees it'),
    destinationPath: absolutePath('Path as the destination endpoint sees it'),
    size: Bytes,
    mtimeMs: MtimeMs,
    site: Site,
    sensor: Sensor,
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const TaskSubmittedData = Type.Object(
  {
    taskId: TaskId,
    submissionId: Type.String({ minLength: 1, maxLength: 128 }),
    batchId: Type.String({ minLength: 1, maxLength: 128 }),
    label: Type.String({ maxLength: 128 }),
    sourceEndpoint: Type.String({ minLength: 1 }),
    destinationEndpoint: Type.String({ minLength: 1 }),
    submittedAt: Iso,
    files: Type.Array(TaskFile, { minItems: 1, maxItems: 100_000 }),
  },
  { additionalProperties: false },
);

export const TaskSubmitted = envelope('task.submitted', 1, TaskSubmittedData, 'Globus accepted a transfer task; the watcher takes it from here.');
export type TaskSubmitted = Static<typeof TaskSubmitted>;
export type TaskSubmittedData = Static<typeof TaskSubmittedData>;
export type TaskFile = Static<typeof TaskFile>;
