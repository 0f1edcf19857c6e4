import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallSink } from '../events.js';
import { HttpProblem } from '../http/problem.js';

/**
 * Records every CDS service call's outcome for the dashboard: status, latency, card count, and the
 * prefetch keys that were missing (412) or unavailable (a data gap on the card). Reads what the
 * request already carries (request.summary, set by the service route; the 412 problem's issues), so
 * the route itself does not change. Register on the root instance before the routes.
 */
export function recordCallOutcomes(app: FastifyInstance, sink: CallSink): void {
  const missing = new WeakMap<FastifyRequest, string[]>();
  // onError runs before the error handler turns the problem into a response (Fastify 5).
  app.addHook('onError', async (request, _reply, error) => {
    if (error instanceof HttpProblem && error.statusCode === 412) missing.set(request, preconditionKeys(error));
  });
  app.addHook('onResponse', async (request, reply) => {
    const summary = request.summary;
    if (summary?.route !== 'service' || !summary.service || !summary.hook) return;
    sink.callCompleted({
      serviceId: summary.service,
      hook: summary.hook,
      status: reply.statusCode,
      durationMs: reply.elapsedTime,
      cards: summary.cards ?? 0,
      unavailable: summary.unavailable ?? [],
      preconditionFailed: missing.get(request) ?? [],
      at: new Date(),
    });
  });
}

/** The keys named by the 412's issues (`expression: ["prefetch.<key>"]`, see protocol/service-call.ts). */
function preconditionKeys(problem: HttpProblem): string[] {
  return problem.issues.flatMap((issue) => (issue.expression ?? []).filter((e) => e.startsWith('prefetch.')).map((e) => e.slice('prefetch.'.length)));
}
