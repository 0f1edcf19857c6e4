import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientViewRequest } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { makeKey, mint, writeIssuersFile, type TestKey } from './support.js';

/** Rate limits (keyed by verified issuer, else address), body limits, and log redaction, over real HTTP. */

const PUBLIC_BASE_URL = 'https://cds.hospital.example';
const A = 'https://ehr-a.example';
const B = 'https://ehr-b.example';
const DISCOVERY = '/cds-services';
const SERVICE = '/cds-services/spine-cds-patient-view';

let keyA: TestKey;
let keyB: TestKey;
let issuersFile: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([makeKey('ES384'), makeKey('RS384')]);
  const written = await writeIssuersFile([
    { iss: A, jwks: { keys: [keyA.publicJwk] } },
    { iss: B, jwks: { keys: [keyB.publicJwk] } },
  ]);
  issuersFile = written.file;
  cleanup = written.cleanup;
});
afterAll(async () => cleanup?.());

const env = (extra: Record<string, string> = {}) => ({
  CDS_AUTH: 'required',
  CDS_ISSUERS: issuersFile,
  PUBLIC_BASE_URL,
  DATABASE_URL: 'sqlite::memory:',
  ...extra,
});
const tokenFor = async (key: TestKey, iss: string, path: string) => `Bearer ${await mint({ key, iss, aud: PUBLIC_BASE_URL + path })}`;

async function post(svc: RunningService, path: string, body: string, authorization?: string): Promise<Response> {
  return fetch(svc.baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body,
  });
}

describe('rate limiting', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(env({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '600000' }));
  });
  afterAll(async () => svc?.close());

  const get = async (authorization?: string) =>
    fetch(svc.baseUrl + DISCOVERY, { headers: authorization ? { authorization } : {} });

  it('counts failed attempts per client address, and answers 429 with JSON and Retry-After past the limit', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get()).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/json/);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await limited.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
  });

  it('gives each verified issuer its own budget, whatever address it calls from', async () => {
    // Same loopback address that just ran out of budget: an authenticated EHR is keyed by its iss.
    const a = [];
    for (let i = 0; i < 4; i++) a.push((await get(await tokenFor(keyA, A, DISCOVERY))).status);
    expect(a).toEqual([200, 200, 200, 429]);
    expect((await get(await tokenFor(keyB, B, DISCOVERY))).status).toBe(200);
  });

  it('writes no token to the log while refusing and limiting', () => {
    expect(svc.logLines().join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});

describe('body limits and JSON parsing', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(env({ BODY_LIMIT_BYTES: '20000', JSON_MAX_DEPTH: '32', RATE_LIMIT_MAX: '100000' }));
  });
  afterAll(async () => svc?.close());

  const auth = () => tokenFor(keyA, A, SERVICE);

  it('refuses an oversized body with 413 JSON', async () => {
    const body = JSON.stringify(patientViewRequest({ extension: { pad: 'x'.repeat(30_000) } }));
    const res = await post(svc, SERVICE, body, await auth());
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('refuses JSON nested deeper than JSON_MAX_DEPTH with 400', async () => {
    const deep = '['.repeat(200) + ']'.repeat(200);
    const body = JSON.stringify(patientViewRequest()).replace(/}$/, `,"extension":${deep}}`);
    const res = await post(svc, SERVICE, body, await auth());
    expect(res.status).toBe(400);
  });

  it.each([
    ['__proto__', '{"hook":"patient-view","__proto__":{"polluted":true}}'],
    ['constructor.prototype', '{"hook":"patient-view","constructor":{"prototype":{"polluted":true}}}'],
  ])('refuses a %s poisoning attempt with 400, and nothing is polluted', async (_name, body) => {
    const res = await post(svc, SERVICE, body, await auth());
    expect(res.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not parse the body of an unauthenticated request: invalid JSON without a token is a 401, not a 400', async () => {
    const res = await post(svc, SERVICE, '{"not json', undefined);
    expect(res.status).toBe(401);
    const oversized = await post(svc, SERVICE, 'x'.repeat(30_000), undefined);
    expect(oversized.status).toBe(401);
  });
});

describe('log redaction', () => {
  const PATIENT_ID = 'mrn-77123456';
  const ACCESS_TOKEN = 'fhir-access-token-do-not-log-0b1c';
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(env({ LOG_LEVEL: 'trace', RATE_LIMIT_MAX: '100000', FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:9' }));
  });
  afterAll(async () => svc?.close());

  it('keeps JWTs, access tokens and patient identifiers out of the captured output, on success and on failure', async () => {
    const valid = await tokenFor(keyA, A, SERVICE);
    const body = JSON.stringify(
      patientViewRequest(
        {
          fhirServer: 'http://127.0.0.1:9/fhir',
          fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds' },
        },
        PATIENT_ID,
      ),
    );
    expect((await post(svc, SERVICE, body, valid)).status).toBe(200);
    expect((await post(svc, SERVICE, body, valid)).status).toBe(401); // replay: logged at warn
    const forged = valid.replace(/.{8}$/, 'AAAAAAAA');
    expect((await post(svc, SERVICE, body, forged)).status).toBe(401);
    expect((await post(svc, SERVICE, body, 'Bearer not-a-jwt-but-secret-9f8e')).status).toBe(401);
    // Anything that logs a request, a token or a context on purpose is redacted by path.
    svc.app.log.warn(
      { req: { headers: { authorization: valid } }, token: valid, jwt: valid, context: { patientId: PATIENT_ID }, fhirAuthorization: { access_token: ACCESS_TOKEN } },
      'deliberate',
    );
    // …and one level inside any object, e.g. a request body or headers logged whole.
    svc.app.log.warn(
      { body: JSON.parse(body) as unknown, headers: { authorization: valid }, credentials: { jwt: valid } },
      'deliberate',
    );

    const out = svc.logLines().join('\n');
    const jwt = valid.slice('Bearer '.length);
    for (const part of jwt.split('.')) expect(out).not.toContain(part);
    expect(out).not.toContain('not-a-jwt-but-secret-9f8e');
    expect(out).not.toContain(ACCESS_TOKEN);
    expect(out).not.toContain(PATIENT_ID);
    // …while the failure reasons are there, so an operator can tell what went wrong.
    const reasons = svc
      .logLines()
      .map((l) => JSON.parse(l) as { auth?: { reason: string } })
      .flatMap((l) => (l.auth ? [l.auth.reason] : []));
    expect(reasons).toEqual(['replayed-jti', 'bad-signature', 'malformed']);
    expect(out).toContain('[redacted]');
  });
});
