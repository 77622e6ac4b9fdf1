import { Type } from '@sinclair/typebox';
import { FILE_STATES, type FileLedger, type FileRecord } from '@terra-transfer/ledger';
import type { HttpApp } from '@terra-transfer/platform';

/** Paths one lookup may name (one Redis pipeline). */
const MAX_LOOKUP_PATHS = 1000;

const LookupRequest = Type.Object(
  { paths: Type.Array(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }), { minItems: 1, maxItems: MAX_LOOKUP_PATHS, description: 'Cache paths' }) },
  { additionalProperties: false },
);

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Record_ = Type.Object({
  state: Type.Union(FILE_STATES.map((s) => Type.Literal(s))),
  size: Type.Integer(), mtimeMs: Type.Number(), uploadId: Type.String(), attempt: Type.Integer(), sensor: Type.String(),
  batchId: Nullable(Type.String()), taskId: Nullable(Type.String()), checksum: Nullable(Type.String()), reason: Nullable(Type.String()),
  updatedAt: Type.String({ format: 'date-time' }),
});

const LookupResponse = Type.Object({
  records: Type.Array(Type.Object({ path: Type.String(), record: Type.Union([Record_, Type.Null()], { description: 'null: the ledger has no record of the path (never sent, or deleted longer ago than DELETED_TTL_HOURS)' }) })),
});

const toRecord = (r: FileRecord) => ({
  state: r.state, size: r.size, mtimeMs: r.mtimeMs, uploadId: r.uploadId, attempt: r.attempt, sensor: r.sensor,
  batchId: r.batchId, taskId: r.taskId, checksum: r.checksum, reason: r.reason, updatedAt: new Date(r.updatedAt).toISOString(),
});

/**
 * POST /api/v1/ledger/lookup: the ledger's record of each path (bearer token),
 * so operators' tools (`terra file`, `terra replay`) ask the cleaner instead of reading Redis.
 * A POST because a thousand paths do not fit a query string; it changes nothing.
 */
export function ledgerLookupRoutes(app: HttpApp, ledger: FileLedger): void {
  app.post('/api/v1/ledger/lookup', {
    onRequest: app.requireToken,
    schema: {
      operationId: 'lookupLedger', tags: ['ledger'],
      summary: "The site ledger's record of each path",
      description: `Read-only: each path's state (pending, batched, in_flight, transferred, deleted, failed), version and ids, or null when the ledger has none. At most ${MAX_LOOKUP_PATHS} paths per request.`,
      body: LookupRequest,
      response: { 200: LookupResponse },
    },
  }, async (req) => {
    const records = await ledger.getMany(req.body.paths);
    return { records: req.body.paths.map((path, i) => ({ path, record: records[i] ? toRecord(records[i]!) : null })) };
  });
}
