import { Type } from '@sinclair/typebox';
import { errorBody, type HttpApp } from '@terra-transfer/platform';
import { SUBMIT_REFUSALS } from '../core/submission.js';
import type { Submit } from '../submitter.js';

/** Paths one request may name: the answer lists each, and each costs a disk check and a confirmed publish. */
const MAX_SUBMIT_PATHS = 1000;

const SubmitRequest = Type.Object(
  {
    site: Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'The site whose cache holds the files (this cleaner serves one)' }),
    paths: Type.Array(Type.String({ minLength: 1, maxLength: 4096, description: 'Absolute path in the site\'s cache' }), { minItems: 1, maxItems: MAX_SUBMIT_PATHS }),
    ignoreWhitelist: Type.Optional(Type.Boolean({ default: false, description: 'Send files outside the whitelisted folders too (the other checks still apply)' })),
  },
  { additionalProperties: false },
);

const SubmitResponse = Type.Object({
  accepted: Type.Array(Type.Object({
    path: Type.String(),
    size: Type.Integer(),
    mtimeMs: Type.Number(),
    uploadId: Type.String({ description: 'api:<path>:<size>:<mtimeMs>, the same for a repeated submission of the same version' }),
  }), { description: 'Sent as file.uploaded (source api), publish confirmed, ledger pending' }),
  refused: Type.Array(Type.Object({
    path: Type.String(),
    code: Type.Union(Object.keys(SUBMIT_REFUSALS).map((c) => Type.Literal(c))),
    reason: Type.String(),
  }), { description: 'Nothing was sent for these' }),
});

const Problem = Type.Object({ error: Type.String(), message: Type.String() });

/** POST /api/v1/files: send files of the site by hand (bearer token), as the original gantry API's POST /files. */
export function fileRoutes(app: HttpApp, site: string, submit: Submit): void {
  app.post('/api/v1/files', {
    onRequest: app.requireToken,
    schema: {
      operationId: 'submitFiles', tags: ['files'],
      summary: 'Send files of the site now',
      description: `Each path is checked and sent into the pipeline as file.uploaded (source api), or refused with a code: ${Object.entries(SUBMIT_REFUSALS).map(([c, r]) => `${c} (${r})`).join('; ')}. At most ${MAX_SUBMIT_PATHS} paths per request.`,
      body: SubmitRequest,
      response: { 200: SubmitResponse, 404: Problem },
    },
  }, async (req, reply) => {
    if (req.body.site !== site) return reply.code(404).send(errorBody('SITE_NOT_SERVED', `this cleaner serves site ${site}, not ${req.body.site}`));
    return submit({ paths: req.body.paths, ignoreWhitelist: req.body.ignoreWhitelist ?? false });
  });
}
