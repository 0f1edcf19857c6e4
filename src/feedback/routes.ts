import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../http/metrics.js';
import { HttpProblem } from '../http/problem.js';
import type { CdsServiceDefinition } from '../protocol/cds-service.js';
import { parseOrThrow } from '../protocol/validation.js';
import { errorSummary } from '../storage/common.js';
import type { FeedbackResult, Store } from '../storage/index.js';
import { FeedbackRequestSchema, toFeedbackEntry } from './schema.js';

declare module '../http/app.js' {
  interface RequestSummary {
    /** Feedback requests: what the write did (counts only), in the one summary line. */
    feedback?: FeedbackResult;
  }
}

export interface FeedbackRoutesOptions {
  services: readonly CdsServiceDefinition[];
  store: Store;
  metrics?: ServiceMetrics;
}

/**
 * CDS Hooks 2.0 §Feedback: POST /cds-services/{id}/feedback. The whole request is validated first
 * (any invalid entry → 400, nothing stored), then written in one transaction; the 200 goes out only
 * after the commit is durable, so an EHR that got a 200 never needs to resend, and one that resends
 * anyway (a retry, a batch replay) is answered 200 again without a second copy.
 * Authentication is the auth plugin's onRequest hook, which covers every URL under /cds-services.
 */
export async function feedbackRoutes(app: FastifyInstance, opts: FeedbackRoutesOptions): Promise<void> {
  app.post<{ Params: { id: string } }>('/cds-services/:id/feedback', async (request, reply) => {
    const service = opts.services.find((s) => s.id === request.params.id);
    if (!service) throw new HttpProblem(404, `No CDS service with id "${request.params.id}"`);
    request.summary = { route: 'feedback', service: service.id };
    if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) {
      throw new HttpProblem(400, 'Request body must be a JSON object {"feedback": [...]}');
    }
    const body = parseOrThrow(FeedbackRequestSchema, request.body, '', 'feedback request', (message, issues) => new HttpProblem(400, message, issues));
    const entries = body.feedback.map(toFeedbackEntry);

    let result;
    try {
      result = await opts.store.recordFeedback(service.id, entries, request.client);
    } catch (err) {
      request.log.error({ err: errorSummary(err), entries: entries.length }, 'feedback store write failed');
      // Nothing was acknowledged: a 503 tells the EHR to send the same entries again later.
      void reply.header('Retry-After', '30');
      throw new HttpProblem(503, 'Feedback could not be stored right now; send it again later');
    }
    request.summary.feedback = result;
    for (const entry of entries) opts.metrics?.feedback.inc({ service: service.id, outcome: entry.outcome });
    return reply.code(200).send(result);
  });
}
