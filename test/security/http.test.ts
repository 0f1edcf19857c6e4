import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CardSink } from '../../src/storage/card-sink.js';
import { patientViewRequest } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { hmacWithPublicKey, makeKey, mint, startJwksServer, unsigned, writeIssuersFile, type JwksServer, type TestKey } from './support.js';

/**
 * The attack matrix over real HTTP against the real service: every hostile token is refused with
 * the same bare 401 on discovery, a service call and feedback; valid ES384 and RS384 tokens pass.
 * The audience base is a public URL that differs from the loopback address the test connects to,
 * as behind a reverse proxy: the check compares PUBLIC_BASE_URL + path, never the Host header.
 */

const PUBLIC_BASE_URL = 'https://cds.hospital.example';
const EPIC = 'https://fhir.epic.example/interconnect-prd-oauth';
const ORACLE = 'https://authorization.cerner.example/tenants/ec2458f2';
const TENANT = 'ec2458f2-1e24-41c8-b71b-0e701af7583d';
const SERVICE_ID = 'spine-cds-patient-view';

interface Endpoint {
  name: string;
  path: string;
  method: 'GET' | 'POST';
  body?: () => unknown;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'discovery', path: '/cds-services', method: 'GET' },
  { name: 'service call', path: `/cds-services/${SERVICE_ID}`, method: 'POST', body: () => patientViewRequest() },
  {
    name: 'feedback',
    path: `/cds-services/${SERVICE_ID}/feedback`,
    method: 'POST',
    body: () => ({ feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] }),
  },
];

let epicKey: TestKey; // RS384, inline JWKS (Epic style)
let oracleKey: TestKey; // ES384, JWKS served over HTTP on loopback (Oracle Health style)
let stranger: TestKey;
let jwks: JwksServer;
let foreignJwks: JwksServer;
let svc: RunningService;
let cleanup: () => Promise<void>;
const issued: Array<{ issuer?: string; tenant?: string }> = [];

beforeAll(async () => {
  [epicKey, oracleKey, stranger] = await Promise.all([makeKey('RS384'), makeKey('ES384'), makeKey('ES384')]);
  jwks = await startJwksServer([oracleKey.publicJwk]);
  foreignJwks = await startJwksServer([stranger.publicJwk]);
  const written = await writeIssuersFile([
    { iss: EPIC, jwks: { keys: [epicKey.publicJwk] } },
    { iss: ORACLE, jwks_url: jwks.url, tenants: [TENANT] },
  ]);
  cleanup = written.cleanup;
  const cardSink: CardSink = { cardsIssued: (e) => void issued.push({ issuer: e.issuer, tenant: e.tenant }) };
  svc = await startService(
    { CDS_AUTH: 'required', CDS_ISSUERS: written.file, PUBLIC_BASE_URL, DATABASE_URL: 'sqlite::memory:', RATE_LIMIT_MAX: '100000' },
    { cardSink },
  );
});

afterAll(async () => {
  await svc?.close();
  await Promise.all([jwks?.close(), foreignJwks?.close(), cleanup?.()]);
});

async function call(endpoint: Endpoint, headers: Record<string, string> = {}, query = ''): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${svc.baseUrl}${endpoint.path}${query}`, {
    method: endpoint.method,
    headers: { ...(endpoint.body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(endpoint.body ? { body: JSON.stringify(endpoint.body()) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text; the assertion shows it
  }
  return { status: response.status, body, headers: response.headers };
}

const aud = (e: Endpoint) => PUBLIC_BASE_URL + e.path;
const epic = (e: Endpoint, o: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {}) =>
  mint({ key: epicKey, iss: EPIC, aud: aud(e), ...o });
const oracle = (e: Endpoint, o: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {}) =>
  mint({ key: oracleKey, iss: ORACLE, aud: aud(e), ...o, claims: { tenant: TENANT, ...o.claims } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const now = () => Math.floor(Date.now() / 1000);

/** Each attack: headers (and query) to send, and the reason the log must give. */
type Attack = (e: Endpoint) => Promise<{ headers?: Record<string, string>; query?: string; reason: string }>;

const ATTACKS: Record<string, Attack> = {
  'no Authorization header': async () => ({ reason: 'missing-authorization' }),
  'alg none': async (e) => ({
    headers: bearer(unsigned({ typ: 'JWT', kid: epicKey.kid }, { iss: EPIC, aud: aud(e), iat: now(), exp: now() + 300, jti: randomUUID() })),
    reason: 'alg-not-allowed',
  }),
  'HS256 signed with the public key': async (e) => ({
    headers: bearer(await hmacWithPublicKey(epicKey, { iss: EPIC, aud: aud(e), iat: now(), exp: now() + 300, jti: randomUUID() })),
    reason: 'alg-not-allowed',
  }),
  'wrong key under a known kid': async (e) => ({
    headers: bearer(await mint({ key: { ...stranger, alg: 'ES384', kid: oracleKey.kid }, iss: ORACLE, aud: aud(e), claims: { tenant: TENANT } })),
    reason: 'bad-signature',
  }),
  'unknown kid': async (e) => ({ headers: bearer(await epic(e, { header: { kid: 'rotated-away' } })), reason: 'unknown-kid' }),
  'unknown iss': async (e) => ({
    headers: bearer(await mint({ key: stranger, iss: 'https://attacker.example', aud: aud(e) })),
    reason: 'unknown-issuer',
  }),
  expired: async (e) => ({ headers: bearer(await epic(e, { claims: { iat: now() - 900, exp: now() - 600 } })), reason: 'expired' }),
  'iat in the future': async (e) => ({
    headers: bearer(await epic(e, { claims: { iat: now() + 3600, exp: now() + 3900 } })),
    reason: 'iat-in-future',
  }),
  'aud of another URL': async (e) => ({
    headers: bearer(await epic(e, { claims: { aud: `https://other-cds.example${e.path}` } })),
    reason: 'aud-mismatch',
  }),
  'aud of the discovery URL used on a service URL': async (e) => ({
    // On discovery itself, the discovery URL is right: use a service URL there instead.
    headers: bearer(
      await epic(e, { claims: { aud: e.name === 'discovery' ? `${PUBLIC_BASE_URL}/cds-services/${SERVICE_ID}` : `${PUBLIC_BASE_URL}/cds-services` } }),
    ),
    reason: 'aud-mismatch',
  }),
  'missing jti': async (e) => ({ headers: bearer(await epic(e, { claims: { jti: undefined } })), reason: 'missing-claim' }),
  'foreign jku': async (e) => ({
    headers: bearer(await mint({ key: stranger, iss: ORACLE, aud: aud(e), header: { jku: foreignJwks.url }, claims: { tenant: TENANT } })),
    reason: 'jku-not-allowed',
  }),
  'malformed token': async () => ({ headers: { authorization: 'Bearer eyJhbGciOiJSUzM4NCJ9.%%%.###' }, reason: 'malformed' }),
  'token only in the query string': async (e) => ({
    query: `?access_token=${await epic(e)}&jwt=${await epic(e)}`,
    reason: 'missing-authorization',
  }),
  'tenant not on the issuer list': async (e) => ({ headers: bearer(await oracle(e, { claims: { tenant: 'another-tenant' } })), reason: 'tenant-not-allowed' }),
};

function authFailureLogs(): Array<{ auth: { reason: string }; msg: string; level: number }> {
  return svc
    .logLines()
    .map((l) => JSON.parse(l) as { auth?: { reason: string }; msg: string; level: number })
    .filter((l): l is { auth: { reason: string }; msg: string; level: number } => l.auth !== undefined);
}

describe('attack matrix: every case is a bare 401 on discovery, service call and feedback', () => {
  const cases = Object.keys(ATTACKS).flatMap((attack) => ENDPOINTS.map((e) => [attack, e.name, e] as const));
  const bodies = new Set<string>();

  it.each(cases)('%s → 401 on %s', async (attack, _name, endpoint) => {
    const { headers, query, reason } = await ATTACKS[attack]!(endpoint);
    const before = authFailureLogs().length;
    const res = await call(endpoint, headers, query);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    bodies.add(JSON.stringify(res.body));
    expect(bodies.size).toBe(1); // one body for all: it cannot say which check failed
    expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'Unauthorized' }] });
    // The log says which check failed.
    const logged = authFailureLogs().slice(before);
    expect(logged.map((l) => l.auth.reason)).toContain(reason);
  });

  it('a replayed jti is refused on every endpoint until the token expires', async () => {
    for (const endpoint of ENDPOINTS) {
      const token = await oracle(endpoint);
      expect((await call(endpoint, bearer(token))).status).toBe(200);
      expect((await call(endpoint, bearer(token))).status).toBe(401);
      expect(authFailureLogs().at(-1)!.auth.reason).toBe('replayed-jti');
    }
  });

  it('fetched nothing from the foreign jku', () => {
    expect(foreignJwks.hits()).toBe(0);
  });

  it('never wrote a token to the log', () => {
    const text = svc.logLines().join('\n');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(text).not.toMatch(/Bearer /);
  });
});

describe('valid tokens', () => {
  it.each(ENDPOINTS.map((e) => [e.name, e] as const))('RS384 (Epic style, inline JWKS) and ES384 (JWKS URL) pass on %s', async (_name, endpoint) => {
    const rs = await call(endpoint, bearer(await epic(endpoint)));
    expect(rs.status).toBe(200);
    const es = await call(endpoint, bearer(await oracle(endpoint)));
    expect(es.status).toBe(200);
  });

  it('the verified issuer and tenant reach the route (recorded with the issued cards)', async () => {
    issued.length = 0;
    const endpoint = ENDPOINTS[1]!;
    expect((await call(endpoint, bearer(await oracle(endpoint)))).status).toBe(200);
    expect((await call(endpoint, bearer(await epic(endpoint)))).status).toBe(200);
    expect(issued).toEqual([
      { issuer: ORACLE, tenant: TENANT },
      { issuer: EPIC, tenant: undefined },
    ]);
  });

  it('accepts a jku equal to the issuer\'s configured jwks_url', async () => {
    const endpoint = ENDPOINTS[0]!;
    expect((await call(endpoint, bearer(await oracle(endpoint, { header: { jku: jwks.url } })))).status).toBe(200);
  });

  it('fetched the loopback JWKS once and served every later ES384 token from the cache', () => {
    expect(jwks.hits()).toBe(1);
  });
});

describe('outside the protected surface', () => {
  it('health probes need no token', async () => {
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${svc.baseUrl}/readyz`)).status).toBe(200);
  });

  it('CORS preflight needs no token (browsers never send one)', async () => {
    const res = await fetch(`${svc.baseUrl}/cds-services/${SERVICE_ID}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://sandbox.cds-hooks.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('unknown paths are refused like protected ones, so the route map is not readable anonymously', async () => {
    const res = await fetch(`${svc.baseUrl}/cds-services/nope/deeper`);
    expect(res.status).toBe(401);
  });
});

describe('security headers', () => {
  it('suit a JSON API, on answers and refusals alike', async () => {
    for (const res of [await fetch(`${svc.baseUrl}/cds-services`), await call(ENDPOINTS[0]!, bearer(await epic(ENDPOINTS[0]!)))]) {
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});
