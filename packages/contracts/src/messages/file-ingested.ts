import { Type, type Static } from '@sinclair/typebox';
import { AbsolutePath, absolutePath, Site, Sensor, envelope } from './common.js';

const ObjectId = Type.String({ pattern: '^[0-9a-f]{24}$' });

export const FileIngestedData = Type.Object(
  {
    site: Site,
    sensor: Sensor,
    destinationPath: AbsolutePath,
    clowderPath: absolutePath('The path Clowder registered'),
    fileId: Type.Union([ObjectId, Type.Null()], { description: 'The Clowder file; null for a `*metadata.json` attached as its dataset\'s metadata only (site setting `clowder.metadataAsFile: false`)' }),
    datasetId: ObjectId,
    datasetName: Type.String({ minLength: 1 }),
    collectionIds: Type.Array(ObjectId, { description: 'Collection chain, root first' }),
    spaceId: Type.Union([ObjectId, Type.Null()]),
    uploadId: Type.String({ minLength: 1, maxLength: 512 }),
  },
  { additionalProperties: false },
);

export const FileIngested = envelope('file.ingested', 1, FileIngestedData, 'A transferred file is registered in Clowder.');
export type FileIngested = Static<typeof FileIngested>;
export type FileIngestedData = Static<typeof FileIngestedData>;
