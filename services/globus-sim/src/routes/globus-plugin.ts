import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GlobusHttpError } from '../core/globus-error.js';
import { requestId } from '../core/ids.js';

/** The Globus error document: `{code, message, request_id, resource}` + extras, as application/json. */
export function sendGlobusError(req: FastifyRequest, reply: FastifyReply, e: GlobusHttpError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  return reply
    .code(e.status)
    .type('application/json')
    .send({ code: e.code, message: e.message, request_id: requestId(), resource: req.url.split('?')[0], 'HTTP status': String(e.status), error_name: 'Transfer API Error', ...e.extra });
}

/**
 * In an encapsulated scope: every error becomes a Globus error body (the
 * platform's default `{error, message}` shape is not what Globus clients parse),
 * and an empty JSON body is accepted (the SDK posts cancel without one).
 */
export function globusErrorHandling(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new GlobusHttpError(400, 'ClientError.BadRequest', 'Request body is not valid JSON'), undefined);
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof GlobusHttpError) return sendGlobusError(req, reply, err);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'simulator error');
    return sendGlobusError(req, reply, new GlobusHttpError(status, status === 500 ? 'InternalError' : 'ClientError.BadRequest', status === 500 ? 'An internal error occurred' : err.message));
  });
}
