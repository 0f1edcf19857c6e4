import type { FastifyInstance } from 'fastify';
import type { CallSink } from '../storage/card-sink.js';

/**
 * Records every CDS service call's outcome for the dashboard: status, latency, card count, and the
 * prefetch keys that were missing (412) or unavailable (a data gap on the card), all read from
 * request.summary, which the service route fills. Register on the root instance before the routes.
 */
export function recordCallOutcomes(app: FastifyInstance, sink: CallSink): void {
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
      preconditionFailed: summary.preconditionFailed ?? [],
      at: new Date(),
    });
  });
}
