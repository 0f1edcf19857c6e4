import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from '../config/config.js';
import type { ClinicalContent } from '../protocol/cds-service.js';
import type { CardSink } from '../storage/card-sink.js';
import { installErrorHandling } from './error-handler.js';
import { simpleOutcome } from './problem.js';
import { healthRoutes } from './health.js';
import { installJsonBodyParser } from './json-body.js';
import { defaultMappingsDir, KnowledgeHolder, loadKnowledge } from '../knowledge/knowledge.js';
import { loggerOptions } from './logger.js';
import { cdsRoutes } from '../protocol/routes.js';
import { registerSecurity } from '../auth/plugin.js';
import { SharedReplayGuard } from '../auth/replay.js';
import { storeProbe } from './health.js';
import { registerLoadShedding, wasShed } from './load-shedding.js';
import { feedbackRoutes } from '../feedback/routes.js';
import { openStore, type Store } from '../storage/index.js';
import { metricsExposure, registerMetrics, METRICS_PATH, ServiceMetrics } from './metrics.js';
import { REQUEST_ID_HEADER, requestIdFor, traceparentOf } from './request-id.js';
import { registerOpenApi, serveOpenApi } from './openapi.js';
import { adminRoutes } from '../admin/plugin.js';
import { recordCallOutcomes } from '../admin/record-calls.js';
import '../auth/types.js';

export interface AppOptions {
  config: Config;
  /** The CDS services and decision rules to serve (hooks/index.ts in this repository). */
  content: ClinicalContent;
  /** Defaults to loading mappings/ with the configured rule settings. Call `knowledge.load()` to become ready. */
  knowledge?: KnowledgeHolder;
  /** Defaults to the store DATABASE_URL selects; closed with the app. */
  store?: Store;
  /** Defaults to the store. */
  cardSink?: CardSink;
  /** Where JSON logs go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  now?: () => Date;
}

export interface RequestSummary {
  route: string;
  /** The CDS service id; logged as `serviceId`, since the logger's base field `service` names this application. */
  service?: string;
  hook?: string;
  cards?: number;
  fetched?: string[];
  unavailable?: string[];
  /** Required prefetch keys that could not be had (answered 412). */
  preconditionFailed?: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    summary: RequestSummary | null;
  }
}

/**
 * The service as a composition of plugins (fastify/demo style): body parsing, one error handler,
 * CORS, health, CDS Hooks routes. Nothing listens until the caller says so.
 */
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; knowledge: KnowledgeHolder; metrics: ServiceMetrics }> {
  const { config } = opts;
  const knowledge =
    opts.knowledge ??
    new KnowledgeHolder(() => loadKnowledge(config.mappingsDir ?? defaultMappingsDir(), opts.content, config.rules));

  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(opts.logStream ? { stream: opts.logStream } : {}) },
    // Fastify's own per-request lines are replaced by the single summary line below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Connections are reaped: a client that trickles its body or headers, or idles, is cut off.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs),
      // Node checks those timeouts on this interval (30 s by default, too coarse for short limits).
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs) / 4))),
    },
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Prototype-poisoning protection stays on for every JSON body (Fastify's default, made explicit).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // reqId in every log line: the caller's X-Request-Id when well-formed, else a UUID (not a per-process counter).
    requestIdHeader: false,
    genReqId: requestIdFor,
    // Malformed URLs and over-long path parameters are refused by the router before any route runs:
    // answer them in the same OperationOutcome shape as every other client error.
    frameworkErrors: (error, _request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).type('application/json').send(simpleOutcome(status, 'Malformed or over-long URL'));
    },
  });

  app.decorateRequest('summary', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
  installJsonBodyParser(app, config.jsonMaxDepth);
  installErrorHandling(app);

  // Exactly one summary line per request: no bodies, no tokens, no patient identifiers. Calls shed
  // under overload are counted in load shedding's own line (one a second) instead: a line each
  // would add to the very load being shed.
  app.addHook('onResponse', async (request, reply) => {
    if (wasShed(request)) return;
    const { service: serviceId, ...call } = request.summary ?? {};
    request.log.info(
      {
        method: request.method,
        path: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        ...traceFields(request.headers.traceparent),
        ...call,
        // Not `service`: the base field `service: "spine-cds"` is already on every line, and a second
        // key of the same name in one JSON object is read differently by different log parsers.
        ...(serviceId ? { serviceId } : {}),
      },
      'request completed',
    );
  });

  // Before any route: it attaches the description's schemas to each route as it is registered.
  await registerOpenApi(app, { ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) });
  await app.register(cors, {
    // The spec defers to browser CORS; the CDS Hooks sandbox needs Authorization and Content-Type on preflight.
    origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });
  const store = opts.store ?? (await openStore(config.databaseUrl, {
      logger: app.log,
      retentionDays: config.retentionDays,
      ...(config.patientHashKey ? { patientKey: config.patientHashKey } : {}),
    }));
  app.addHook('onClose', async () => {
    if (!opts.store) await store.close();
  });

  // Load shedding before anything else costs work (src/http/load-shedding.ts).
  await registerLoadShedding(app, config);

  const metrics = new ServiceMetrics();
  const exposure = metricsExposure(config);
  // JWT verification, security headers and rate limits apply to every route registered after this.
  // /metrics on the main port carries a scraper's static token (or none in development), never an EHR JWT.
  // Seen jtis are shared through the store: a replay to another instance or after a restart is refused.
  const sharedReplay = config.auth === 'required' ? new SharedReplayGuard(store, { timeoutMs: config.replayStoreTimeoutMs, logger: app.log }) : undefined;
  await registerSecurity(app, { config, metrics, ...(exposure.kind === 'main-port' ? { publicPaths: [METRICS_PATH] } : {}), ...(sharedReplay ? { sharedReplay } : {}) });
  await registerMetrics(app, metrics, exposure, config.host);
  await app.register(healthRoutes, { knowledge, checks: [storeProbe(store)] });
  recordCallOutcomes(app, store);
  await app.register(cdsRoutes, { services: opts.content.services, config, knowledge, cardSink: opts.cardSink ?? store, now: opts.now ?? (() => new Date()), metrics });
  await app.register(feedbackRoutes, { services: opts.content.services, store, metrics });
  await app.register(adminRoutes, {
    serviceIds: opts.content.services.map((s) => s.id),
    mappingsDir: config.mappingsDir ?? defaultMappingsDir(),
    store,
    production: config.production,
    adminToken: config.adminToken,
  });
  serveOpenApi(app);
  return { app, knowledge, metrics };
}

/** The caller's W3C trace context in the summary line, when it sent a valid one. */
function traceFields(header: string | string[] | undefined): { traceparent?: string } {
  const traceparent = traceparentOf(header);
  return traceparent ? { traceparent } : {};
}
