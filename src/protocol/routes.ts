import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { CardSink } from '../storage/card-sink.js';
import type { ServiceMetrics } from '../http/metrics.js';
import { HttpProblem } from '../http/problem.js';
import type { CdsServiceDefinition } from './cds-service.js';
import { RequiredDataUnavailable } from './errors.js';
import type { KnowledgeHolder } from '../knowledge/knowledge.js';
import { callService } from './service-call.js';

export interface CdsRoutesOptions {
  services: readonly CdsServiceDefinition[];
  config: Config;
  knowledge: KnowledgeHolder;
  cardSink: CardSink | undefined;
  now: () => Date;
  metrics?: ServiceMetrics;
}

/** Discovery and service calls (CDS Hooks 2.0 §Discovery, §Calling a CDS Service). */
export async function cdsRoutes(app: FastifyInstance, opts: CdsRoutesOptions): Promise<void> {
  const discovery = {
    services: opts.services.map((s) => ({
      hook: s.hook,
      title: s.title,
      description: s.description,
      id: s.id,
      prefetch: Object.fromEntries(s.prefetch.map((t) => [t.key, t.query])),
    })),
  };

  app.get('/cds-services', async (request) => {
    request.summary = { route: 'discovery' };
    return discovery;
  });

  app.post<{ Params: { id: string } }>('/cds-services/:id', async (request, reply) => {
    const service = opts.services.find((s) => s.id === request.params.id);
    if (!service) throw new HttpProblem(404, `No CDS service with id "${request.params.id}"`);
    request.summary = { route: 'service', service: service.id, hook: service.hook };
    const hookInstance = (request.body as { hookInstance?: unknown } | null)?.hookInstance;
    if (typeof hookInstance === 'string') {
      // hookInstance is the correlation id between our log and the EHR's. Bound onto the request's
      // own logger rather than a child of it: a child of that per-request child makes V8 turn it
      // into a prototype, which cost about 7 µs a call (test/bench/README.md).
      // The app's logger is always pino (app.ts), whose loggers have setBindings.
      (request.log as FastifyBaseLogger & Pick<Logger, 'setBindings'>).setBindings({ hookInstance: hookInstance.slice(0, 200) });
    }
    const knowledge = opts.knowledge.current;
    if (!knowledge) throw new HttpProblem(503, 'Service is starting: clinical mappings are not loaded yet');

    const now = opts.now();
    const { metrics } = opts;
    let result;
    try {
      result = await callService(service, request.body, knowledge, opts.config, now, request.log, {
        ...(metrics ? { onFhirFetch: (key: string, seconds: number, ok: boolean) => observeFetch(metrics, key, seconds, ok) } : {}),
      });
    } catch (err) {
      if (err instanceof RequiredDataUnavailable) {
        // Key names only: the summary line, the metrics and the dashboard's call record read them here.
        request.summary.preconditionFailed = err.keys;
        if (metrics) for (const key of request.summary.preconditionFailed) metrics.preconditionFailed.inc({ key });
      }
      throw err;
    }
    metrics?.countCards(result.response.cards);
    request.summary.cards = result.response.cards.length;
    // Key names only (never contents): which prefetch keys had to be fetched or were unavailable.
    request.summary.fetched = keysWith(result.dataSources, 'fhirServer');
    request.summary.unavailable = keysWith(result.dataSources, 'unavailable');
    opts.cardSink?.cardsIssued({
      serviceId: service.id,
      hook: service.hook,
      hookInstance: result.request.hookInstance,
      patientId: String((result.request.context as { patientId?: unknown }).patientId ?? ''),
      cards: result.response.cards,
      ...(request.client?.iss ? { issuer: request.client.iss } : {}),
      ...(request.client?.tenant ? { tenant: request.client.tenant } : {}),
      at: now,
    });
    return reply.code(200).send(result.response);
  });
}

function keysWith(sources: Record<string, string>, value: string): string[] {
  return Object.keys(sources).filter((k) => sources[k] === value);
}

function observeFetch(metrics: ServiceMetrics, key: string, seconds: number, ok: boolean): void {
  metrics.fhirFetchDuration.observe({ key, result: ok ? 'ok' : 'failed' }, seconds);
  if (!ok) metrics.fhirFetchFailures.inc({ key });
}
