import { randomUUID } from 'node:crypto';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientViewRequest } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { makeKey, startJwksServer, writeIssuersFile, type JwksServer, type TestKey } from './support.js';

/**
 * The CDS Hooks Sandbox (github.com/cds-hooks/sandbox, src/retrieve-data-helpers/jwt-generator.js)
 * signs every call with ES384 and puts `kid` and `jku` in the header; `aud` is the endpoint URL it
 * calls and there is no `sub`. An issuer entry with pinned keys and a `jwks_url` must admit it
 * without fetching anything, and still refuse any other `jku`.
 */

const SANDBOX_ISS = 'https://sandbox.cds-hooks.org';
const SANDBOX_KID = '44823f3d-0b01-4a6c-a80e-b9d3e8a7226f';
const PUBLIC_BASE_URL = 'http://127.0.0.1:3000';
const SERVICE = '/cds-services/spine-cds-patient-view';

let pinned: TestKey;
let impostor: TestKey;
/** Serves a different key under the Sandbox's kid and counts hits: any fetch would show, and would fail the signature. */
let jwksUrl: JwksServer;
let svc: RunningService;
let cleanup: () => Promise<void>;

/** The Sandbox's generateJWT(audience), header and payload field for field. */
async function sandboxToken(key: TestKey, audience: string, jku: string): Promise<string> {
  const now = Date.now() / 1000;
  const payload = JSON.stringify({ iss: SANDBOX_ISS, aud: audience, exp: Math.round(now + 300), iat: Math.round(now), jti: randomUUID() });
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: SANDBOX_KID, jku })
    .sign(key.privateKey);
}

beforeAll(async () => {
  [pinned, impostor] = await Promise.all([makeKey('ES384', SANDBOX_KID), makeKey('ES384', SANDBOX_KID)]);
  jwksUrl = await startJwksServer([impostor.publicJwk]);
  const written = await writeIssuersFile([
    { iss: SANDBOX_ISS, jwks: { keys: [pinned.publicJwk] }, jwks_url: jwksUrl.url, description: 'CDS Hooks Sandbox, keys pinned' },
  ]);
  cleanup = written.cleanup;
  svc = await startService({ CDS_AUTH: 'required', CDS_ISSUERS: written.file, PUBLIC_BASE_URL, RATE_LIMIT_MAX: '100000' });
});

afterAll(async () => {
  await svc?.close();
  await Promise.all([jwksUrl?.close(), cleanup?.()]);
});

async function call(path: string, token: string, body?: unknown): Promise<number> {
  const response = await fetch(svc.baseUrl + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  return response.status;
}

function authFailures(): string[] {
  return svc
    .logLines()
    .map((l) => JSON.parse(l) as { auth?: { reason?: string } })
    .flatMap((l) => (l.auth?.reason ? [l.auth.reason] : []));
}

describe('the CDS Hooks Sandbox as a client, keys pinned', () => {
  it('gets through discovery, a service call and feedback with pinned keys, and nothing is fetched', async () => {
    const feedback = { feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }] };
    expect(await call('/cds-services', await sandboxToken(pinned, `${PUBLIC_BASE_URL}/cds-services`, jwksUrl.url))).toBe(200);
    expect(await call(SERVICE, await sandboxToken(pinned, PUBLIC_BASE_URL + SERVICE, jwksUrl.url), patientViewRequest())).toBe(200);
    expect(await call(`${SERVICE}/feedback`, await sandboxToken(pinned, `${PUBLIC_BASE_URL}${SERVICE}/feedback`, jwksUrl.url), feedback)).toBe(200);
    expect(jwksUrl.hits()).toBe(0);
  });

  it('refuses a jku other than the configured jwks_url, even with a valid signature', async () => {
    const token = await sandboxToken(pinned, `${PUBLIC_BASE_URL}/cds-services`, `${SANDBOX_ISS}/.well-known/jwks.json`);
    expect(await call('/cds-services', token)).toBe(401);
    expect(authFailures()).toContain('jku-not-allowed');
  });

  it('refuses a token signed with the key the jwks_url serves: only the pinned keys count', async () => {
    const token = await sandboxToken(impostor, `${PUBLIC_BASE_URL}/cds-services`, jwksUrl.url);
    expect(await call('/cds-services', token)).toBe(401);
    expect(authFailures()).toContain('bad-signature');
    expect(jwksUrl.hits()).toBe(0);
  });
});

describe('the CDS Hooks Sandbox as a client, jwks_url only', () => {
  let svcUrl: RunningService;
  let jwks: JwksServer;
  let done: () => Promise<void>;

  beforeAll(async () => {
    jwks = await startJwksServer([pinned.publicJwk]);
    const written = await writeIssuersFile([{ iss: SANDBOX_ISS, jwks_url: jwks.url }]);
    done = written.cleanup;
    svcUrl = await startService({ CDS_AUTH: 'required', CDS_ISSUERS: written.file, PUBLIC_BASE_URL, RATE_LIMIT_MAX: '100000' });
  });
  afterAll(async () => {
    await svcUrl?.close();
    await Promise.all([jwks?.close(), done?.()]);
  });

  it('fetches the key set from jwks_url, accepts the matching jku and refuses another', async () => {
    const ok = await fetch(`${svcUrl.baseUrl}/cds-services`, {
      headers: { authorization: `Bearer ${await sandboxToken(pinned, `${PUBLIC_BASE_URL}/cds-services`, jwks.url)}` },
    });
    expect(ok.status).toBe(200);
    expect(jwks.hits()).toBe(1);
    const foreign = await fetch(`${svcUrl.baseUrl}/cds-services`, {
      headers: { authorization: `Bearer ${await sandboxToken(pinned, `${PUBLIC_BASE_URL}/cds-services`, `${SANDBOX_ISS}/.well-known/jwks.json`)}` },
    });
    expect(foreign.status).toBe(401);
    expect(jwks.hits()).toBe(1);
  });
});
