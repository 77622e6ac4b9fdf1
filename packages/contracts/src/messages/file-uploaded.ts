import { Type, type Static } from '@sinclair/typebox';
import { absolutePath, Bytes, Iso, MtimeMs, Sensor, Site, envelope } from './common.js';

export const FileUploadedData = Type.Object(
  {
    site: Site,
    sensor: Sensor,
    path: absolutePath('Real path of the file in the cache'),
    size: Bytes,
    mtimeMs: MtimeMs,
    ftpTime: Type.Union([Iso, Type.Null()], { description: 'Time the FTP server logged the upload; null when not from the log' }),
    source: Type.Union([Type.Literal('xferlog'), Type.Literal('directory'), Type.Literal('sweep'), Type.Literal('retry'), Type.Literal('api'), Type.Literal('lemnatec')], { description: 'Who found the file: the xferlog (log-tailer), a directory site (directory-source), the sweep, a retry, the API, a LemnaTec database (lemnatec-source: an exported snapshot file)' }),
    attempt: Type.Integer({ minimum: 1, description: '1 for a first upload; incremented each time the file is sent again' }),
    uploadId: Type.String({
      minLength: 1,
      maxLength: 512,
      description: 'Id of the upload, derived from its log position (xferlog:<fingerprint>:<offset>) or, for other sources, from path, size and mtime (directory: dir:<site>:<relative path>:<size>:<mtimeMs>, or dir:<site>:sha256:<hex> of that when long; lemnatec: lt:<site>:<database>:<snapshot id>:<file name>)',
    }),
  },
  { additionalProperties: false },
);

export const FileUploaded = envelope('file.uploaded', 1, FileUploadedData, 'A completed upload in a whitelisted sensor directory is in the cache.');
export type FileUploaded = Static<typeof FileUploaded>;
export type FileUploadedData = Static<typeof FileUploadedData>;
