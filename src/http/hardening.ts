import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import type { Config } from '../config/config.js';
import { HttpProblem } from './problem.js';

/**
 * Security headers and rate limits, on the root instance: a root hook and a fastify-plugin plugin
 * both apply to every route registered afterwards.
 */
export async function registerHardening(app: FastifyInstance, config: Config): Promise<void> {
  // helmet itself, built once: @fastify/helmet rebuilds every helmet middleware (CSP parsing
  // included) on each request, which cost about 30 microseconds a call (test/bench/README.md).
  const securityHeaders = helmet({
    // A JSON API renders nothing: no script, style, frame or image may load from a response, and no
    // page may frame one. Helmet's HTML-oriented defaults (script-src etc.) would only add noise.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    // same-origin CORP blocks no-cors embedding (<script src>) of responses; CORS fetches from the
    // EHR or the sandbox are not affected by it.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is ignored over plain http and right over https (TLS terminates at the proxy in production).
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err instanceof Error ? err : undefined));
  });

  // Cards and OperationOutcomes can carry patient information: no shared or browser cache may keep them.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    // Runs as a route-level onRequest hook, i.e. after the instance-level authentication hook, so
    // request.client is already known: one EHR (issuer) shares one budget whatever its egress IPs;
    // anonymous and failed callers are counted per address.
    hook: 'onRequest',
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(context.statusCode === 403 ? 403 : 429, `Too many requests; retry after ${context.after}`),
  });
}

export function rateLimitKey(request: FastifyRequest): string {
  return request.client ? `iss:${request.client.iss}` : `ip:${request.ip}`;
}
