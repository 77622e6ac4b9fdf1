import type { FastifyRequest } from 'fastify';

/**
 * A reply in one of Clowder's error shapes, thrown by handlers and rendered by
 * the /api error handler. Clowder mixes JSON objects, JSON strings and plain
 * text; the simulator reproduces each where the reference says which.
 */
export class ApiReply extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: 'application/json' | 'text/plain',
  ) {
    super(`${status} ${body.slice(0, 200)}`);
  }
}

/** Play's `request.toString`: "GET /api/x?y=1". */
export const requestLine = (req: FastifyRequest): string => `${req.method} ${req.url}`;

/** A handler-level error as a JSON string, e.g. `400 "Missing parameter [name]"`. */
export const jsonString = (status: number, message: string) => new ApiReply(status, JSON.stringify(message), 'application/json');
/** A plain-text error, e.g. `400 No files uploaded`. */
export const plainText = (status: number, message: string) => new ApiReply(status, message, 'text/plain');
export const notAuthorized = () => plainText(401, 'Not authorized');
/** Global.scala's onBadRequest for /api paths. */
export const badRequest = (req: FastifyRequest, message: string) =>
  new ApiReply(400, JSON.stringify({ status: 'bad request', message, request: requestLine(req) }), 'application/json');
export const cannotParse = (req: FastifyRequest, name: string) => badRequest(req, `Cannot parse parameter ${name}`);
