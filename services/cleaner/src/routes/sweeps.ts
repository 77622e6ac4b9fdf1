import { Type } from '@sinclair/typebox';
import { errorBody, type HttpApp } from '@terra-transfer/platform';
import { SweepStatusSchema } from '../core/sweep-status.js';
import type { Sweeper } from '../sweeper.js';

const Started = Type.Object({ id: Type.String(), state: Type.Literal('running') });

/** POST /api/v1/sweeps starts a sweep (bearer token); GET /api/v1/sweeps/latest reports the latest one, from any replica. */
export function sweepRoutes(app: HttpApp, sweeper: Sweeper): void {
  app.addSchema(SweepStatusSchema);
  app.post('/api/v1/sweeps', {
    preHandler: app.requireToken,
    schema: {
      operationId: 'startSweep', tags: ['sweeps'],
      summary: 'Start a sweep now',
      description: 'Walks the whitelisted cache directories and sends every file older than the threshold that has no record of being sent. 409 when a sweep is already running on any replica.',
      response: { 202: Started, 409: { $ref: 'ErrorBody#' } },
    },
  }, async (_req, reply) => {
    const started = await sweeper.start('api');
    if (!started) return reply.code(409).send(errorBody('SWEEP_RUNNING', 'a sweep is already running'));
    return reply.code(202).send({ id: started.id, state: 'running' as const });
  });
  app.get('/api/v1/sweeps/latest', {
    schema: {
      operationId: 'getLatestSweep', tags: ['sweeps'],
      summary: 'Progress or result of the latest sweep',
      response: { 200: { $ref: 'SweepStatus#' }, 404: { $ref: 'ErrorBody#' } },
    },
  }, async (_req, reply) => {
    const latest = await sweeper.latest();
    if (!latest) return reply.code(404).send(errorBody('NO_SWEEP', 'no sweep has run yet'));
    return reply.send(latest);
  });
}
