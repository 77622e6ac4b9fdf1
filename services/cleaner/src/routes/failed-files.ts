import { Type } from '@sinclair/typebox';
import type { FailedRecord } from '@terra-transfer/ledger';
import type { HttpApp } from '@terra-transfer/platform';
import { RESEND_OUTCOMES, type FailedResender } from '../failures.js';

const Iso = Type.String({ format: 'date-time' });

const FailedFile = Type.Object(
  {
    path: Type.String({ description: 'Cache path' }),
    size: Type.Integer({ description: 'Size of the version that failed' }),
    mtimeMs: Type.Number({ description: 'mtime of the version that failed' }),
    uploadId: Type.String({ description: 'The upload (round) that was given up' }),
    reason: Type.String({ description: "Give-up code from the watcher (FILE_NOT_FOUND, EXPIRED…), or the cleaner's when it cannot send the file again: CACHE_FILE_MISSING, NOT_A_REGULAR_FILE, UNSAFE_PATH" }),
    detail: Type.String(),
    attempts: Type.Integer({ description: 'Transfer attempts of the round that was given up' }),
    giveUps: Type.Integer({ description: 'Give-ups of this version so far (the backoff doubles with each)' }),
    lastTaskId: Type.Union([Type.String(), Type.Null()]),
    failedAt: Iso,
    nextResendAt: Type.String({ format: 'date-time', description: 'When the resend is due (while one is being attempted: when that attempt times out)' }),
  },
  { $id: 'FailedFile' },
);

const Page = Type.Object({
  total: Type.Integer({ description: 'Entries in the failed index (may briefly include files that moved on; they are dropped as they are read)' }),
  offset: Type.Integer(),
  nextOffset: Type.Union([Type.Integer(), Type.Null()], { description: 'Offset of the next page; null at the end. A page may hold fewer than limit items.' }),
  items: Type.Array(Type.Ref('FailedFile')),
});

const ResendRequest = Type.Object(
  { paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }), { maxItems: 1000, description: 'Cache paths to send now; all failed files when omitted' })) },
  { additionalProperties: false },
);

const ResendResult = Type.Object({
  requested: Type.Integer({ description: 'Requested files that were failed (made due now)' }),
  ...Object.fromEntries(RESEND_OUTCOMES.map((o) => [o, Type.Integer()])),
});

const toItem = (r: FailedRecord) => ({
  path: r.path, size: r.size, mtimeMs: r.mtimeMs, uploadId: r.uploadId, reason: r.reason ?? '', detail: r.detail, attempts: r.attempt, giveUps: r.giveUps,
  lastTaskId: r.taskId, failedAt: new Date(r.failedAt).toISOString(), nextResendAt: new Date(r.resendAt).toISOString(),
});

/** GET /api/v1/files/failed lists the files given up (soonest resend first); POST /api/v1/files/failed/resend sends them now (bearer token). */
export function failedFileRoutes(app: HttpApp, resender: FailedResender): void {
  app.addSchema(FailedFile);
  app.get('/api/v1/files/failed', {
    schema: {
      operationId: 'listFailedFiles', tags: ['files'],
      summary: 'Files given up after their last transfer attempt',
      description: 'Failed files in the site ledger, soonest resend first, with the reason, the number of give-ups and when the cleaner sends them again.',
      querystring: Type.Object({
        offset: Type.Integer({ minimum: 0, default: 0 }),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      }),
      response: { 200: Page },
    },
  }, async (req) => {
    const { offset, limit } = req.query;
    const page = await resender.list(offset, limit);
    const end = offset + limit;
    return { total: page.total, offset, nextOffset: end < page.total ? end : null, items: page.items.map(toItem) };
  });
  app.post('/api/v1/files/failed/resend', {
    onRequest: app.requireToken,
    schema: {
      operationId: 'resendFailedFiles', tags: ['files'],
      summary: 'Send failed files again now',
      description: 'Makes the resend of the given failed files (all when no paths are given) due now and runs a resend pass: each file is checked on disk (inside the cache, no symlink) and sent again, or kept failed with a reason. Answers with what the pass did.',
      body: ResendRequest,
      response: { 200: ResendResult },
    },
  }, async (req) => resender.resendNow(req.body?.paths));
}
