import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrustedIssuer } from '../../src/auth/issuers.js';
import { JtiReplayCache } from '../../src/auth/replay.js';
import { CdsJwtVerifier, type VerifierOptions } from '../../src/auth/verifier.js';
import { hmacWithPublicKey, makeKey, mint, startJwksServer, unsigned, type JwksServer, type TestKey } from './support.js';

const BASE = 'https://cds.example.org';
const SERVICE_PATH = '/cds-services/spine-cds-patient-view';
const AUD = BASE + SERVICE_PATH;
const EPIC = 'https://fhir.epic.example/interconnect';
const ORACLE = 'https://authorization.oracle.example/tenants/abc';
const NOW_SEC = 1_900_000_000;

let es384: TestKey;
let rs384: TestKey;
let es256: TestKey;
let rs256: TestKey;
let oracleKey: TestKey;
let stranger: TestKey;
let jwks: JwksServer;
let otherServer: JwksServer;

beforeAll(async () => {
  [es384, rs384, es256, rs256, oracleKey, stranger] = await Promise.all([
    makeKey('ES384'),
    makeKey('RS384'),
    makeKey('ES256'),
    makeKey('RS256'),
    makeKey('ES384'),
    makeKey('ES384'),
  ]);
  jwks = await startJwksServer([oracleKey.publicJwk]);
  otherServer = await startJwksServer([stranger.publicJwk]);
});

afterAll(async () => {
  await Promise.all([jwks?.close(), otherServer?.close()]);
});

function issuers(): TrustedIssuer[] {
  return [
    { iss: EPIC, jwks: { keys: [es384.publicJwk, rs384.publicJwk, es256.publicJwk, rs256.publicJwk] } },
    { iss: ORACLE, jwksUrl: jwks.url, tenants: ['tenant-a', 'tenant-b'] },
  ];
}

function verifier(extra: Partial<VerifierOptions> = {}): CdsJwtVerifier {
  return new CdsJwtVerifier({ issuers: issuers(), audienceBases: [BASE], now: () => NOW_SEC * 1000, ...extra });
}

const epicToken = (key: TestKey, o: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {}) =>
  mint({ key, iss: EPIC, aud: AUD, nowSec: NOW_SEC, ...o });
const bearer = (t: string) => `Bearer ${t}`;

describe('CdsJwtVerifier: accepted tokens', () => {
  it.each(['ES384', 'RS384', 'ES256', 'RS256'] as const)('accepts a valid %s token and names the issuer', async (alg) => {
    const key = { ES384: es384, RS384: rs384, ES256: es256, RS256: rs256 }[alg];
    const jti = `jti-${alg}`;
    const result = await verifier().verify(bearer(await epicToken(key, { claims: { jti } })), SERVICE_PATH);
    // The jti and how long it must be remembered (exp + the default 60 s skew) go to the shared replay store.
    expect(result).toEqual({ ok: true, client: { iss: EPIC }, token: { jti, acceptedUntilMs: (NOW_SEC + 300 + 60) * 1000 } });
  });

  it('keeps a jti as long as its own configured clock skew would accept the token', async () => {
    const token = await epicToken(es384, { claims: { jti: 'skewed', exp: NOW_SEC + 120 } });
    const result = await verifier({ clockSkewSeconds: 5 }).verify(bearer(token), SERVICE_PATH);
    expect(result).toMatchObject({ ok: true, token: { jti: 'skewed', acceptedUntilMs: (NOW_SEC + 125) * 1000 } });
  });

  it('accepts aud as an array that contains the invoked URL, and a clock skew inside the tolerance', async () => {
    const token = await epicToken(es384, { claims: { aud: ['https://elsewhere.example', AUD], iat: NOW_SEC + 30 } });
    expect((await verifier().verify(bearer(token), SERVICE_PATH)).ok).toBe(true);
  });

  it('fetches a remote JWKS once from a loopback server and reuses it, and returns the tenant', async () => {
    const v = verifier();
    const before = jwks.hits();
    for (const tenant of ['tenant-a', 'tenant-b', 'tenant-a']) {
      const token = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC, claims: { tenant } });
      expect(await v.verify(bearer(token), SERVICE_PATH)).toMatchObject({ ok: true, client: { iss: ORACLE, tenant } });
    }
    expect(jwks.hits() - before).toBe(1);
  });

  it('accepts a jku equal to the configured jwks_url', async () => {
    const token = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC, header: { jku: jwks.url }, claims: { tenant: 'tenant-a' } });
    expect((await verifier().verify(bearer(token), SERVICE_PATH)).ok).toBe(true);
  });
});

describe('CdsJwtVerifier: refused tokens, with the reason the log gets', () => {
  const claimsFor = (key: TestKey) => ({ iss: EPIC, aud: AUD, iat: NOW_SEC, exp: NOW_SEC + 300, jti: 'j1', kid: key.kid });
  const cases: Array<[string, () => Promise<string | undefined>, string, string?]> = [
    ['no Authorization header', async () => undefined, 'missing-authorization'],
    ['a Basic scheme', async () => 'Basic dXNlcjpwYXNz', 'not-bearer'],
    ['alg none', async () => bearer(unsigned({ typ: 'JWT', kid: es384.kid }, claimsFor(es384))), 'alg-not-allowed'],
    ['HS256 signed with the public key', async () => bearer(await hmacWithPublicKey(es384, claimsFor(es384))), 'alg-not-allowed'],
    ['a wrong key under a known kid', async () => bearer(await epicToken({ ...stranger, kid: es384.kid })), 'bad-signature'],
    ['an unknown kid', async () => bearer(await epicToken({ ...es384, kid: 'nobody' })), 'unknown-kid'],
    ['no kid', async () => bearer(await epicToken(es384, { header: { kid: undefined } })), 'missing-kid'],
    ['an unknown iss', async () => bearer(await epicToken(es384, { claims: { iss: 'https://evil.example' } })), 'unknown-issuer'],
    ['no iss', async () => bearer(await epicToken(es384, { claims: { iss: undefined } })), 'missing-iss'],
    ['expired', async () => bearer(await epicToken(es384, { claims: { iat: NOW_SEC - 900, exp: NOW_SEC - 600 } })), 'expired'],
    ['iat in the future', async () => bearer(await epicToken(es384, { claims: { iat: NOW_SEC + 600, exp: NOW_SEC + 900 } })), 'iat-in-future'],
    ['nbf in the future', async () => bearer(await epicToken(es384, { claims: { nbf: NOW_SEC + 600 } })), 'not-yet-valid'],
    ['aud of another URL', async () => bearer(await epicToken(es384, { claims: { aud: 'https://other.example/cds-services/x' } })), 'aud-mismatch'],
    ['aud of the discovery URL on a service URL', async () => bearer(await epicToken(es384, { claims: { aud: `${BASE}/cds-services` } })), 'aud-mismatch'],
    ['no aud', async () => bearer(await epicToken(es384, { claims: { aud: undefined } })), 'missing-claim', 'aud'],
    ['no exp', async () => bearer(await epicToken(es384, { claims: { exp: undefined } })), 'missing-claim', 'exp'],
    ['no iat', async () => bearer(await epicToken(es384, { claims: { iat: undefined } })), 'missing-claim', 'iat'],
    ['no jti', async () => bearer(await epicToken(es384, { claims: { jti: undefined } })), 'missing-claim', 'jti'],
    ['a numeric jti', async () => bearer(await epicToken(es384, { claims: { jti: 42 } })), 'invalid-claim', 'jti'],
    ['a numeric tenant', async () => bearer(await epicToken(es384, { claims: { tenant: 7 } })), 'invalid-claim', 'tenant'],
    ['an oversized tenant', async () => bearer(await epicToken(es384, { claims: { tenant: 't'.repeat(300) } })), 'invalid-claim', 'tenant'],
    ['a lifetime over one hour', async () => bearer(await epicToken(es384, { claims: { exp: NOW_SEC + 7200 } })), 'lifetime-too-long'],
    ['typ other than JWT', async () => bearer(await epicToken(es384, { header: { typ: 'at+jwt' } })), 'typ-not-jwt'],
    ['a foreign jku', async () => bearer(await epicToken(es384, { header: { jku: otherServer.url } })), 'jku-not-allowed'],
    ['garbage', async () => 'Bearer not.a.jwt', 'malformed'],
    ['two segments', async () => 'Bearer eyJhbGciOiJFUzM4NCJ9.e30', 'malformed'],
    ['an oversized token', async () => bearer('a'.repeat(20_000)), 'malformed'],
  ];

  it.each(cases)('refuses %s', async (_name, make, reason, claim) => {
    const result = await verifier().verify(await make(), SERVICE_PATH);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(reason);
    if (claim) expect(result.claim).toBe(claim);
  });

  it('fetches nothing for a foreign jku, even when the issuer uses a JWKS URL', async () => {
    const before = { ours: jwks.hits(), theirs: otherServer.hits() };
    const token = await mint({
      key: stranger,
      iss: ORACLE,
      aud: AUD,
      nowSec: NOW_SEC,
      header: { jku: otherServer.url },
      claims: { tenant: 'tenant-a' },
    });
    const result = await verifier().verify(bearer(token), SERVICE_PATH);
    expect(result).toMatchObject({ ok: false, reason: 'jku-not-allowed' });
    expect(otherServer.hits()).toBe(before.theirs);
    expect(jwks.hits()).toBe(before.ours);
  });

  it('refuses a replayed jti until the token expires', async () => {
    let now = NOW_SEC * 1000;
    const v = verifier({ now: () => now });
    const token = bearer(await epicToken(es384, { claims: { jti: 'once' } }));
    expect((await v.verify(token, SERVICE_PATH)).ok).toBe(true);
    expect(await v.verify(token, SERVICE_PATH)).toMatchObject({ ok: false, reason: 'replayed-jti' });
    // The same jti from another issuer is a different token.
    const oracle = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC, claims: { jti: 'once', tenant: 'tenant-a' } });
    expect((await v.verify(bearer(oracle), SERVICE_PATH)).ok).toBe(true);
    // Once expired the token is refused as expired, not as a replay; the cache entry has done its job.
    now = (NOW_SEC + 300 + 61) * 1000;
    expect(await v.verify(token, SERVICE_PATH)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('refuses a tenant missing from, or not on, the issuer list', async () => {
    const v = verifier();
    for (const tenant of [undefined, 'tenant-z', 7]) {
      const token = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC, claims: { tenant } });
      const result = await v.verify(bearer(token), SERVICE_PATH);
      expect(result.ok).toBe(false);
    }
  });

  it('answers jwks-unavailable (and no crash) when the JWKS URL does not answer 200', async () => {
    const v = new CdsJwtVerifier({
      issuers: [{ iss: ORACLE, jwksUrl: `${jwks.url}-missing` }],
      audienceBases: [BASE],
      now: () => NOW_SEC * 1000,
    });
    const token = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC });
    expect(await v.verify(bearer(token), SERVICE_PATH)).toMatchObject({ ok: false, reason: 'jwks-unavailable' });
  });
});

describe('CdsJwtVerifier: JWKS rotation and refresh limits', () => {
  it('refetches the JWKS on an unknown kid and accepts the rotated key', async () => {
    const rotated = await makeKey('ES384');
    const server = await startJwksServer([oracleKey.publicJwk]);
    try {
      const v = new CdsJwtVerifier({
        issuers: [{ iss: ORACLE, jwksUrl: server.url }],
        audienceBases: [BASE],
        now: () => NOW_SEC * 1000,
        jwksCooldownMs: 0,
      });
      const first = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC });
      expect((await v.verify(bearer(first), SERVICE_PATH)).ok).toBe(true);
      expect(server.hits()).toBe(1);
      server.setKeys([oracleKey.publicJwk, rotated.publicJwk]);
      const second = await mint({ key: rotated, iss: ORACLE, aud: AUD, nowSec: NOW_SEC });
      expect((await v.verify(bearer(second), SERVICE_PATH)).ok).toBe(true);
      expect(server.hits()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('does not refetch for unknown kids inside the cooldown, however many arrive', async () => {
    const server = await startJwksServer([oracleKey.publicJwk]);
    try {
      const v = new CdsJwtVerifier({ issuers: [{ iss: ORACLE, jwksUrl: server.url }], audienceBases: [BASE], now: () => NOW_SEC * 1000 });
      const valid = await mint({ key: oracleKey, iss: ORACLE, aud: AUD, nowSec: NOW_SEC });
      expect((await v.verify(bearer(valid), SERVICE_PATH)).ok).toBe(true);
      for (let i = 0; i < 20; i++) {
        const bogus = await mint({ key: { ...oracleKey, kid: `made-up-${i}` }, iss: ORACLE, aud: AUD, nowSec: NOW_SEC });
        expect(await v.verify(bearer(bogus), SERVICE_PATH)).toMatchObject({ ok: false, reason: 'unknown-kid' });
      }
      expect(server.hits()).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('JtiReplayCache', () => {
  it('forgets an entry at its expiry', () => {
    let now = 1000;
    const cache = new JtiReplayCache({ now: () => now });
    expect(cache.checkAndRemember('a', 'j', 2000)).toBe('fresh');
    expect(cache.checkAndRemember('a', 'j', 2000)).toBe('replayed');
    now = 2000;
    expect(cache.checkAndRemember('a', 'j', 3000)).toBe('fresh');
  });

  it('stays within its bound: expired entries go first, then the oldest live ones', () => {
    let now = 0;
    const cache = new JtiReplayCache({ maxEntries: 100, now: () => now });
    for (let i = 0; i < 100; i++) cache.checkAndRemember('a', `old-${i}`, 10);
    now = 20;
    cache.checkAndRemember('a', 'new', 1000);
    expect(cache.size).toBe(1);
    expect(cache.evictedUnexpired).toBe(0);
    for (let i = 0; i < 500; i++) cache.checkAndRemember('a', `live-${i}`, 1000);
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(cache.evictedUnexpired).toBeGreaterThan(0);
    // The most recent ones are still remembered.
    expect(cache.checkAndRemember('a', 'live-499', 1000)).toBe('replayed');
  });
});
