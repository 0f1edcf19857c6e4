import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  DeadlineExceeded,
  FhirServerNotAllowed,
  HookCallError,
  InvalidHookRequest,
  RequiredDataUnavailable,
} from '../protocol/errors.js';
import { HttpProblem, operationOutcome, simpleOutcome } from './problem.js';

/** Each hook-call error's HTTP status, in one place (CDS Hooks 2.0 names 412 for missing prefetch). */
function statusOf(error: HookCallError): number {
  if (error instanceof InvalidHookRequest) return 400;
  if (error instanceof FhirServerNotAllowed) return 403;
  if (error instanceof RequiredDataUnavailable) return 412;
  if (error instanceof DeadlineExceeded) return 503;
  // A new kind of hook-call error without a status here is a programming error: say so, hide it.
  return 500;
}

/**
 * The one error handler: client errors get a 4xx OperationOutcome that says what was wrong;
 * anything unexpected gets a bare 500 with no internals (stack, messages) and is logged.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpProblem | HookCallError, request, reply) => {
    if (error instanceof HookCallError) {
      const status = statusOf(error);
      if (status === 500) return internalError(error, request, reply);
      if (error instanceof DeadlineExceeded && error.detail) request.log.warn({ reason: error.detail }, 'call deadline passed');
      return reply.code(status).type('application/json').send(operationOutcome(error.issues));
    }
    if (error instanceof HttpProblem) {
      return reply.code(error.statusCode).type('application/json').send(operationOutcome(error.issues));
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).type('application/json').send(simpleOutcome(status, clientMessage(error, status)));
    }
    return internalError(error, request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/json').send(simpleOutcome(404, `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}

function internalError(error: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  request.log.error({ err: error }, 'internal error');
  return reply.code(500).type('application/json').send(simpleOutcome(500, 'Internal error'));
}

function clientMessage(error: FastifyError, status: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is larger than the configured limit';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type: send application/json or application/fhir+json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is empty: a JSON object is required';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'Request body is not valid JSON';
    default:
      // Fastify's own 4xx messages (JSON syntax, content type) say nothing internal.
      return status === 429 ? 'Too many requests' : error.message || 'Bad request';
  }
}
