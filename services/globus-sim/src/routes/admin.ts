import type { FastifyInstance } from 'fastify';
import type { Store } from '../adapters/store.js';
import { checkFaultRequest, type FaultPlan, type FaultRequest } from '../core/faults.js';
import type { Telemetry } from '../telemetry.js';

/** Fault injection at run time, behind the admin bearer token (docs/globus.md). */
export async function adminRoutes(app: FastifyInstance, d: { faults: FaultPlan; store: Store; telemetry: Telemetry; now: () => number }): Promise<void> {
  const guard = { preHandler: app.requireToken, schema: { tags: ['admin'], security: [{ bearer: [] }] } };
  app.post('/admin/faults', guard, async (req, reply) => {
    const problem = checkFaultRequest(req.body);
    if (problem) return reply.code(400).send({ error: 'BAD_FAULT', message: problem });
    const f = req.body as FaultRequest;
    if (f.kind === 'expire-tokens') {
      await d.store.expireTokens(d.now());
      d.telemetry.faultFired('expire-tokens', 'token');
      return reply.code(200).send({ kind: f.kind, fired: true });
    }
    return reply.code(201).send(d.faults.add(f));
  });
  app.get('/admin/faults', guard, async () => ({ faults: d.faults.list() }));
  app.delete('/admin/faults', guard, async () => {
    d.faults.clear();
    return { faults: [] };
  });
}
