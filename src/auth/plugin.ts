import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, type Config } from '../config/config.js';
import { registerHardening } from '../http/hardening.js';
import type { ServiceMetrics } from '../http/metrics.js';
import { simpleOutcome } from '../http/problem.js';
import { loadIssuersFile, type TrustedIssuer } from './issuers.js';
import type { SharedReplayGuard } from './replay.js';
import { CdsJwtVerifier, type AcceptedToken, type VerifierOptions, type VerifyResult } from './verifier.js';
import './types.js';

/**
 * Everything between the socket and the routes: security headers, rate limits, and the CDS Hooks
 * JWT check (CDS Hooks 2.0 §Trusting CDS Clients). Call it on the root instance before the routes.
 *
 * Authentication is default-deny: with CDS_AUTH=required every request needs a valid token except
 * the health probes and CORS preflight (which browsers send without credentials). That covers
 * discovery, service calls and feedback, and also unknown paths, so the route map is not readable
 * anonymously.
 */
export interface SecurityOptions {
  config: Config;
  /** Test seam: verifier tuning (clock, skew, JWKS cooldown); production uses the defaults. */
  verifier?: Omit<VerifierOptions, 'issuers' | 'audienceBases'>;
  /** Counts refusals by reason. */
  metrics?: ServiceMetrics;
  /** Further paths that need no EHR JWT (/metrics on the main port, which checks its own token). */
  publicPaths?: readonly string[];
  /** Seen jtis shared through the store, so a replay to another instance or after a restart is refused too. */
  sharedReplay?: SharedReplayGuard;
}

/** Paths that never require a token: orchestrator probes carry no EHR JWT. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Paths with their own access control, never the EHR's JWT: the governance dashboard (src/admin/access.ts). */
export const OWN_ACCESS_PREFIX = '/admin';
const hasOwnAccess = (path: string): boolean => path === OWN_ACCESS_PREFIX || path.startsWith(`${OWN_ACCESS_PREFIX}/`);

/** The one body every authentication failure gets, whatever the check that failed. */
export const UNAUTHORIZED_BODY = simpleOutcome(401, 'Unauthorized');

type Failure = Extract<VerifyResult, { ok: false }>;

export async function registerSecurity(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  const { config } = opts;
  let issuers: TrustedIssuer[] = [];
  // Validated even when CDS_AUTH=off, so a broken trust file is found before it is switched on.
  if (config.issuersFile) issuers = await loadIssuersFile(config.issuersFile, { production: config.production });

  let verifier: CdsJwtVerifier | undefined;
  if (config.auth === 'required') {
    if (issuers.length === 0) {
      // loadConfig already refuses this; kept so the plugin is safe with a hand-built Config.
      throw new ConfigError('CDS_AUTH=required but no trusted issuers are configured (CDS_ISSUERS).');
    }
    if (!config.publicBaseUrl) {
      // The Host header is the caller's to choose; deriving the audience from it would let a token
      // minted for another service be replayed here. So the public URL is configuration.
      throw new ConfigError(
        'CDS_AUTH=required needs PUBLIC_BASE_URL: the exact public URL the EHR calls (e.g. https://cds.example.org), used to check the JWT "aud".',
      );
    }
    verifier = new CdsJwtVerifier({ ...opts.verifier, issuers, audienceBases: [config.publicBaseUrl] });
  }

  if (!app.hasRequestDecorator('client')) app.decorateRequest('client', undefined);
  const failures = new WeakMap<FastifyRequest, Failure>();
  const accepted = new WeakMap<FastifyRequest, AcceptedToken>();

  if (verifier) {
    const v = verifier;
    const publicPaths = new Set([...PUBLIC_PATHS, ...(opts.publicPaths ?? [])]);
    // Instance-level onRequest: runs before the rate limiter's route-level onRequest hook, which
    // then keys on the verified issuer. The refusal itself waits until preParsing (below), so
    // failed attempts are rate-limited too, and the body of a refused request is never parsed.
    app.addHook('onRequest', async (request) => {
      const path = pathOf(request.url);
      if (request.method === 'OPTIONS' || publicPaths.has(path) || hasOwnAccess(path)) return;
      const result = await v.verify(request.headers.authorization, path);
      if (result.ok) {
        request.client = result.client;
        accepted.set(request, result.token);
      } else failures.set(request, result);
    });
  }

  await registerHardening(app, config);

  if (verifier) {
    const shared = opts.sharedReplay;
    // preParsing: the rate limiter (onRequest) has counted the request, and a refused body is never parsed.
    // Fastify stops the chain once the reply is sent; the payload is returned only to satisfy the hook type.
    app.addHook('preParsing', async (request, reply, payload) => {
      const failure = failures.get(request);
      if (failure) {
        refuseAndCount(request, reply, failure, opts.metrics);
        return payload;
      }
      const token = accepted.get(request);
      if (!shared || !token || !request.client || reply.sent) return payload;
      // The jti and its lifetime as the verifier itself read and judged them (its configured skew).
      const result = await shared.claim(request.client.iss, token.jti, token.acceptedUntilMs);
      if (result === 'replayed') refuseAndCount(request, reply, { ok: false, reason: 'replayed-jti', iss: request.client.iss }, opts.metrics, 'shared');
      return payload;
    });
  }
}

/** Every refusal is logged and counted alike, whichever check (this process's or the shared store's) made it. */
function refuseAndCount(request: FastifyRequest, reply: FastifyReply, failure: Failure, metrics: ServiceMetrics | undefined, scope?: 'shared'): void {
  logFailure(request, failure, scope);
  metrics?.authFailures.inc({ reason: failure.reason });
  refuse(reply);
}

function refuse(reply: FastifyReply): void {
  // RFC 6750 §3: a bare challenge, no error code or description that would say which check failed.
  reply.code(401).header('www-authenticate', 'Bearer').type('application/json').send(UNAUTHORIZED_BODY);
}

function logFailure(request: FastifyRequest, failure: Failure, scope?: 'shared'): void {
  const { ok: _ok, ...rest } = failure;
  const details = scope ? { ...rest, scope } : rest;
  // The token itself is never logged; iss, kid and alg are public header/claim values that say who tried.
  const suspicious = failure.reason === 'replayed-jti' || failure.reason === 'jwks-unavailable' || failure.reason === 'bad-signature';
  const level = suspicious ? 'warn' : 'info';
  // The route pattern, not the raw URL: an unmatched URL is the caller's text and may hold anything.
  request.log[level]({ auth: details, route: request.routeOptions.url ?? 'unmatched' }, `authentication failed: ${failure.reason}`);
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
