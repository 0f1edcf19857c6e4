import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Card } from '../cards/types.js';
import type { Config } from '../config/config.js';
import { bearerMatches } from '../auth/static-token.js';

/**
 * Prometheus metrics. Every series has bounded labels: service ids and hooks come from the service
 * table (an unknown id in the URL is counted as "unknown"), prefetch keys from the templates, card
 * topics from the topic CodeSystem, auth reasons from a closed list. No patient data, no issuer.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  /** The bound port of the separate metrics listener, once listening (METRICS_PORT=0 picks one). */
  separatePort: number | undefined;
  readonly calls = new Counter({
    name: 'spine_cds_service_calls_total',
    help: 'CDS service calls, by service, hook and HTTP status',
    labelNames: ['service', 'hook', 'status'] as const,
    registers: [this.registry],
  });
  readonly callDuration = new Histogram({
    name: 'spine_cds_service_call_duration_seconds',
    help: 'CDS service call latency, from request received to response sent',
    labelNames: ['service', 'hook', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly cards = new Counter({
    name: 'spine_cds_cards_total',
    help: 'Cards returned, by card topic code and indicator',
    labelNames: ['topic', 'indicator'] as const,
    registers: [this.registry],
  });
  readonly fhirFetchDuration = new Histogram({
    name: 'spine_cds_fhir_fetch_duration_seconds',
    help: 'Time to read one prefetch key from the EHR FHIR server (all pages), by key and result',
    labelNames: ['key', 'result'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
    registers: [this.registry],
  });
  readonly fhirFetchFailures = new Counter({
    name: 'spine_cds_fhir_fetch_failures_total',
    help: 'Prefetch keys that could not be read from the EHR FHIR server, by key',
    labelNames: ['key'] as const,
    registers: [this.registry],
  });
  readonly preconditionFailed = new Counter({
    name: 'spine_cds_precondition_failed_total',
    help: 'Service calls answered 412 because required data was unavailable, by missing prefetch key',
    labelNames: ['key'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'spine_cds_auth_failures_total',
    help: 'Requests refused 401, by the reason the JWT check failed',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly feedback = new Counter({
    name: 'spine_cds_feedback_total',
    help: 'Feedback entries stored, by service and outcome (accepted, overridden)',
    labelNames: ['service', 'outcome'] as const,
    registers: [this.registry],
  });

  countCards(cards: readonly Card[]): void {
    for (const card of cards) this.cards.inc({ topic: card.source.topic?.code ?? 'none', indicator: card.indicator });
  }

  /** The app's series plus the process-wide ones (event-loop lag, heap, GC, CPU). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const merged = Registry.merge([this.registry, processRegistry()]);
    return { contentType: this.registry.contentType, body: await merged.metrics() };
  }
}

let processMetrics: Registry | undefined;

/** Node's default metrics describe the process, not an app: collected once, however many apps a test builds. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** Where /metrics is served, decided from the configuration (see docs/operations-clients.md). */
export type MetricsExposure =
  | { kind: 'main-port'; token?: string }
  | { kind: 'separate-port'; port: number; token?: string }
  | { kind: 'off' };

export function metricsExposure(config: Pick<Config, 'production' | 'metrics'>): MetricsExposure {
  const { port, token } = config.metrics;
  if (port !== undefined) return { kind: 'separate-port', port, ...(token ? { token } : {}) };
  if (token) return { kind: 'main-port', token };
  // Development: on the main port, no token. Production without either is not served at all.
  return config.production ? { kind: 'off' } : { kind: 'main-port' };
}

export const METRICS_PATH = '/metrics';

/**
 * Counts service calls (onResponse) and serves /metrics as the exposure says. The main-port route
 * answers with its own 401 on a bad token; the auth plugin must let the path through (it does, via
 * its publicPaths option) because a scraper has a static token, not an EHR JWT.
 */
export async function registerMetrics(app: FastifyInstance, metrics: ServiceMetrics, exposure: MetricsExposure, host: string): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== '/cds-services/:id' || request.method !== 'POST') return;
    const labels = {
      service: request.summary?.service ?? 'unknown',
      hook: request.summary?.hook ?? 'unknown',
      status: String(reply.statusCode),
    };
    metrics.calls.inc(labels);
    metrics.callDuration.observe(labels, reply.elapsedTime / 1000);
  });

  if (exposure.kind === 'main-port') {
    const token = exposure.token;
    app.get(METRICS_PATH, async (request, reply) => {
      if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
      }
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).header('cache-control', 'no-store').send(body);
    });
  }

  if (exposure.kind === 'separate-port') {
    let server: Server | undefined;
    const token = exposure.token;
    // onReady, not onListen: listen() waits for it, so the metrics port is bound when listen() resolves.
    app.addHook('onReady', async () => {
      server = createServer((req, res) => {
        if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== METRICS_PATH) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
          res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
          return;
        }
        metrics.scrape().then(
          ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
          () => res.writeHead(500).end(),
        );
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(exposure.port, host, () => resolve());
      });
      const address = s.address();
      metrics.separatePort = typeof address === 'object' && address ? address.port : exposure.port;
      app.log.info({ metricsPort: metrics.separatePort }, 'metrics served on a separate port');
    });
    app.addHook('onClose', async () => {
      const s = server;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    });
  }
}
