import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { AuthenticatedClient } from './types.js';
import { ACCEPTED_ALGORITHMS, type TrustedIssuer } from './issuers.js';
import { JtiReplayCache } from './replay.js';

/**
 * Verification of the CDS Hooks 2.0 client JWT (§Trusting CDS Clients). One verdict per request:
 * either the client it identified, or the reason it failed. The reason goes to the log only; the
 * HTTP answer never says which check failed, so a caller cannot probe the checks one by one.
 */

/** Why a token was refused: stable codes for logs and tests, never sent to the caller. */
export type AuthFailureReason =
  | 'missing-authorization'
  | 'not-bearer'
  | 'malformed'
  | 'alg-not-allowed'
  | 'typ-not-jwt'
  | 'missing-kid'
  | 'missing-iss'
  | 'unknown-issuer'
  | 'jku-not-allowed'
  | 'unknown-kid'
  | 'bad-signature'
  | 'jwks-unavailable'
  | 'expired'
  | 'not-yet-valid'
  | 'iat-in-future'
  | 'lifetime-too-long'
  | 'aud-mismatch'
  | 'missing-claim'
  | 'invalid-claim'
  | 'replayed-jti'
  | 'tenant-not-allowed';

/** The accepted token's replay identity, as the verifier read and judged it (for the shared replay store). */
export interface AcceptedToken {
  jti: string;
  /** Until when the verifier would accept this token (exp plus its clock skew), in ms: how long the jti must be kept. */
  acceptedUntilMs: number;
}

export type VerifyResult =
  | { ok: true; client: AuthenticatedClient; token: AcceptedToken }
  | { ok: false; reason: AuthFailureReason; iss?: string; kid?: string; alg?: string; claim?: string };

export interface VerifierOptions {
  issuers: readonly TrustedIssuer[];
  /** Public base URLs of this service (no trailing slash); `aud` must equal one of them + the request path. */
  audienceBases: readonly string[];
  /** Tolerated clock difference with the EHR, for exp, nbf and "iat not in the future". Default 60 s. */
  clockSkewSeconds?: number;
  /** Longest accepted token lifetime (exp − iat). Bounds the replay cache; the spec suggests ≤ 5 min. Default 1 h. */
  maxLifetimeSeconds?: number;
  replayCache?: JtiReplayCache;
  /** After a JWKS fetch, an unknown kid triggers no new fetch for this long (jose cooldown). Default 30 s. */
  jwksCooldownMs?: number;
  /** A fetched JWKS is used this long before it is fetched again. Default 10 min. */
  jwksCacheMaxAgeMs?: number;
  jwksTimeoutMs?: number;
  now?: () => number;
}

/** Long enough for any real EHR token (Epic's are ~1–2 kB); anything bigger is refused before decoding. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ALGS: readonly string[] = ACCEPTED_ALGORITHMS;

export class CdsJwtVerifier {
  private readonly issuers = new Map<string, { issuer: TrustedIssuer; keys: JWTVerifyGetKey }>();
  private readonly audienceBases: readonly string[];
  private readonly skew: number;
  private readonly maxLifetime: number;
  private readonly replay: JtiReplayCache;
  private readonly now: () => number;

  constructor(opts: VerifierOptions) {
    if (opts.audienceBases.length === 0) throw new Error('CdsJwtVerifier needs at least one audience base URL');
    this.audienceBases = opts.audienceBases.map((b) => b.replace(/\/+$/, ''));
    this.skew = opts.clockSkewSeconds ?? 60;
    this.maxLifetime = opts.maxLifetimeSeconds ?? 3600;
    this.now = opts.now ?? Date.now;
    this.replay = opts.replayCache ?? new JtiReplayCache({ now: this.now });
    for (const issuer of opts.issuers) {
      // Pinned keys win over the URL: with both, the URL only names the accepted jku (see issuers.ts).
      const keys = issuer.jwks
        ? createLocalJWKSet(issuer.jwks)
        : createRemoteJWKSet(new URL(issuer.jwksUrl!), {
            // Cached; refetched on an unknown kid (key rotation), but at most once per cooldown so a
            // stream of made-up kids cannot turn this service into a load generator against the EHR.
            cooldownDuration: opts.jwksCooldownMs ?? 30_000,
            cacheMaxAge: opts.jwksCacheMaxAgeMs ?? 600_000,
            timeoutDuration: opts.jwksTimeoutMs ?? 5_000,
          });
      this.issuers.set(issuer.iss, { issuer, keys });
    }
  }

  /** `path` is the request path without the query string, e.g. `/cds-services/spine-cds-patient-view`. */
  async verify(authorization: string | undefined, path: string): Promise<VerifyResult> {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing-authorization' };
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'not-bearer' };
    const token = match[1]!;
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };

    let header: ProtectedHeaderParameters;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const alg = typeof header.alg === 'string' ? header.alg.slice(0, 20) : undefined;
    // Checked before anything else: "none" and HMAC (which would accept a token "signed" with our public key) never reach jose.
    if (alg === undefined || !ALGS.includes(alg)) return { ok: false, reason: 'alg-not-allowed', ...(alg ? { alg } : {}) };
    if (!JWS_COMPACT.test(token)) return { ok: false, reason: 'malformed', alg };
    // The spec makes typ REQUIRED ("JWT"); some EHRs omit it, none sends another value legitimately.
    if (header.typ !== undefined && String(header.typ).toUpperCase() !== 'JWT') return { ok: false, reason: 'typ-not-jwt', alg };
    const kid = typeof header.kid === 'string' && header.kid !== '' ? header.kid.slice(0, 200) : undefined;
    if (kid === undefined) return { ok: false, reason: 'missing-kid', alg };
    if (typeof unverified.iss !== 'string' || unverified.iss === '') return { ok: false, reason: 'missing-iss', alg, kid };
    const iss = unverified.iss.slice(0, 300);
    const trusted = this.issuers.get(unverified.iss);
    if (!trusted) return { ok: false, reason: 'unknown-issuer', iss, alg, kid };
    const who = { iss, alg, kid };
    // A jku naming any other URL is refused before any fetch: the key URL comes from our configuration, never from the token.
    if (header.jku !== undefined && (trusted.issuer.jwksUrl === undefined || header.jku !== trusted.issuer.jwksUrl)) {
      return { ok: false, reason: 'jku-not-allowed', ...who };
    }

    const nowMs = this.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.keys, {
        algorithms: [...ACCEPTED_ALGORITHMS],
        issuer: trusted.issuer.iss,
        audience: this.audienceBases.map((b) => b + path),
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
        clockTolerance: this.skew,
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      return { ok: false, ...joseFailure(err), ...who };
    }

    const nowSec = nowMs / 1000;
    const iat = payload.iat!;
    const exp = payload.exp!;
    if (iat > nowSec + this.skew) return { ok: false, reason: 'iat-in-future', ...who };
    if (exp - iat > this.maxLifetime) return { ok: false, reason: 'lifetime-too-long', ...who };
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 512) {
      return { ok: false, reason: 'invalid-claim', claim: 'jti', ...who };
    }
    const tenant = (payload as { tenant?: unknown }).tenant;
    // The tenant is stored with issued cards and feedback: a bounded string or nothing.
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 256)) {
      return { ok: false, reason: 'invalid-claim', claim: 'tenant', ...who };
    }
    const allowed = trusted.issuer.tenants;
    if (allowed && (tenant === undefined || !allowed.includes(tenant))) return { ok: false, reason: 'tenant-not-allowed', ...who };
    // Last, so only fully valid tokens occupy the cache; the entry lives until exp (+ skew, which exp is also allowed).
    const acceptedUntilMs = (exp + this.skew) * 1000;
    if (this.replay.checkAndRemember(trusted.issuer.iss, payload.jti, acceptedUntilMs) === 'replayed') {
      return { ok: false, reason: 'replayed-jti', ...who };
    }
    return { ok: true, client: { iss: trusted.issuer.iss, ...(tenant !== undefined ? { tenant } : {}) }, token: { jti: payload.jti, acceptedUntilMs } };
  }

  /** How many still-valid jtis were dropped because the replay cache was full (0 in normal operation). */
  get replayEvictions(): number {
    return this.replay.evictedUnexpired;
  }
}

function joseFailure(err: unknown): { reason: AuthFailureReason; claim?: string } {
  if (err instanceof errors.JWTExpired) return { reason: 'expired' };
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (err.reason === 'missing') return { reason: 'missing-claim', claim };
    if (claim === 'aud') return { reason: 'aud-mismatch' };
    if (claim === 'nbf') return { reason: 'not-yet-valid' };
    return { reason: 'invalid-claim', claim };
  }
  if (err instanceof errors.JWKSNoMatchingKey) return { reason: 'unknown-kid' };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { reason: 'bad-signature' };
  if (err instanceof errors.JOSEAlgNotAllowed) return { reason: 'alg-not-allowed' };
  if (err instanceof errors.JWKSMultipleMatchingKeys) return { reason: 'bad-signature' };
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return { reason: 'jwks-unavailable' };
  // jose's generic error is what a non-200 answer from the JWKS URL raises.
  if (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC') return { reason: 'jwks-unavailable' };
  if (err instanceof errors.JOSEError) return { reason: 'malformed' };
  // fetch() failures (connection refused, DNS) and HTTP errors from the JWKS endpoint.
  return { reason: 'jwks-unavailable' };
}
