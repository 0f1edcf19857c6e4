import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.js';
import type { CardSink } from './events.js';
import { installErrorHandling } from './http/error-handler.js';
import { simpleOutcome } from './http/problem.js';
import { healthRoutes } from './http/health.js';
import { installJsonBodyParser } from './http/json-body.js';
import { defaultMappingsDir, KnowledgeHolder, loadKnowledge } from './knowledge.js';
import { loggerOptions } from './logger.js';
import { cdsRoutes } from './protocol/routes.js';
import { registerSecurity, UNAUTHORIZED_BODY } from './auth/plugin.js';
import { registerSharedReplayCheck, SharedReplayGuard } from './auth/replay.js';
import { storeProbe } from './http/health.js';
import { registerLoadShedding } from './http/load-shedding.js';
import { feedbackRoutes } from './feedback/routes.js';
import { openStore, type Store } from './storage/index.js';
import './auth/types.js';

export interface AppOptions {
  config: Config;
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
  service?: string;
  hook?: string;
  cards?: number;
  fetched?: string[];
  unavailable?: string[];
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
export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; knowledge: KnowledgeHolder }> {
  const { config } = opts;
  const knowledge =
    opts.knowledge ??
    new KnowledgeHolder(() => loadKnowledge(config.mappingsDir ?? defaultMappingsDir(), config.rules));

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
    // Malformed URLs and over-long path parameters are refused by the router before any route runs:
    // answer them in the same OperationOutcome shape as every other client error.
    frameworkErrors: (error, _request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 400;
      void (reply as FastifyReply).code(status).type('application/json').send(simpleOutcome(status, 'Malformed or over-long URL'));
    },
  });

  app.decorateRequest('summary', null);
  installJsonBodyParser(app, config.jsonMaxDepth);
  installErrorHandling(app);

  // Exactly one summary line per request: no bodies, no tokens, no patient identifiers.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        path: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        ...(request.summary ?? {}),
      },
      'request completed',
    );
  });

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

  // JWT verification, security headers and rate limits apply to every route registered after this.
  await registerSecurity(app, { config });
  if (config.auth === 'required') {
    // Seen jtis shared through the store: a replay to another instance or after a restart is refused.
    const guard = new SharedReplayGuard(store, { timeoutMs: config.replayStoreTimeoutMs, logger: app.log });
    registerSharedReplayCheck(app, guard, (reply) => {
      void reply.code(401).header('www-authenticate', 'Bearer').type('application/json').send(UNAUTHORIZED_BODY);
    });
  }
  await app.register(healthRoutes, { knowledge, checks: [storeProbe(store)] });
  await app.register(cdsRoutes, { config, knowledge, cardSink: opts.cardSink ?? store, now: opts.now ?? (() => new Date()) });
  await app.register(feedbackRoutes, { store });
  return { app, knowledge };
}
