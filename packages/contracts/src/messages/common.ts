import { Type, type TSchema } from '@sinclair/typebox';

/** An absolute POSIX path. */
export const absolutePath = (description?: string) => Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', ...(description ? { description } : {}) });
export const AbsolutePath = absolutePath();
export const Sha = Type.String({ minLength: 1, maxLength: 256 });
export const Site = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Site slug, e.g. ua-mac' });
export const Sensor = Type.String({ minLength: 1, maxLength: 256, description: 'Sensor name taken from the path' });
export const Iso = Type.String({ format: 'date-time', description: 'ISO 8601 timestamp' });
export const Bytes = Type.Integer({ minimum: 0 });
export const mtimeMs = (description = 'File modification time, milliseconds since the epoch') => Type.Number({ minimum: 0, description });
export const MtimeMs = mtimeMs();
export const TaskId = Type.String({ minLength: 1, maxLength: 128, description: 'Globus task id' });

/**
 * The envelope every event travels in. `type` and `version` pick the schema of
 * `data`; `id` is unique per event (a redelivery keeps it), `key` identifies
 * the thing the event is about so consumers can deduplicate.
 */
export function envelope<T extends string, V extends number, D extends TSchema>(type: T, version: V, data: D, description: string) {
  return Type.Object(
    {
      type: Type.Literal(type),
      version: Type.Literal(version),
      id: Type.String({ minLength: 1, maxLength: 512, description: 'Unique event id' }),
      time: Iso,
      data,
    },
    { $id: `${type}/v${version}`, additionalProperties: false, description },
  );
}
