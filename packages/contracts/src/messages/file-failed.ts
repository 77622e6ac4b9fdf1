import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, Bytes, Sensor, Site, envelope } from './common.js';

export const FileFailedData = Type.Object(
  {
    site: Site,
    sensor: Sensor,
    path: AbsolutePath,
    size: Bytes,
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
    attempts: Type.Integer({ minimum: 1 }),
    reason: Type.String({ minLength: 1, maxLength: 64, description: 'Stable error code, e.g. FILE_NOT_FOUND, EXPIRED, CANCELED' }),
    detail: Type.String({ maxLength: 4096 }),
    lastTaskId: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const FileFailed = envelope('file.failed', 1, FileFailedData, 'A file could not be transferred after the configured number of attempts; an operator must act.');
export type FileFailed = Static<typeof FileFailed>;
export type FileFailedData = Static<typeof FileFailedData>;
