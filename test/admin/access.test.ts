import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAccess } from '../../src/admin/access.js';
import { sameSecret } from '../../src/auth/static-token.js';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/config/config.js';
import { makeKey, writeIssuersFile } from '../security/support.js';
import { SPINE_CDS } from '../../hooks/index.js';

/**
 * Who may open /admin. Production runs with the EHR JWT required: the dashboard must answer on its
 * own terms (404 without ADMIN_TOKEN; Bearer ADMIN_TOKEN with it), never ask for the EHR's JWT.
 */
const TOKEN = 'admin-token-for-tests-0123456789abcdef';
const PATHS = ['/admin', '/admin/summary.json', '/admin/topics.csv', '/admin/assets/dashboard.js'];

async function productionApp(extra: Record<string, string>): Promise<{ app: FastifyInstance; cleanup: () => Promise<void> }> {
  const key = await makeKey('ES384');
  const issuers = await writeIssuersFile([{ iss: 'https://ehr.example.org', jwks: { keys: [key.publicJwk] } }]);
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    CDS_ISSUERS: issuers.file,
    PUBLIC_BASE_URL: 'https://cds.example.org',
    FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org',
    DATABASE_URL: 'sqlite::memory:',
    PATIENT_HASH_KEY: 'k'.repeat(32),
    ...extra,
  }, SPINE_CDS);
  const { app } = await buildApp({ content: SPINE_CDS, config });
  await app.ready();
  return { app, cleanup: async () => { await app.close(); await issuers.cleanup(); } };
}

describe('production, ADMIN_TOKEN not set', () => {
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ app, cleanup } = await productionApp({})));
  afterAll(() => cleanup());

  it('every /admin path is 404, even from loopback and with a bearer token', async () => {
    for (const url of PATHS) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
      expect((await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, url).toBe(404);
    }
  });

  it('the rest of the service still requires the EHR JWT', async () => {
    expect((await app.inject({ url: '/cds-services' })).statusCode).toBe(401);
  });
});

describe('production, ADMIN_TOKEN set', () => {
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ app, cleanup } = await productionApp({ ADMIN_TOKEN: TOKEN })));
  afterAll(() => cleanup());

  it('no token: 401 with a Bearer challenge, not the EHR JWT refusal', async () => {
    for (const url of PATHS) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm=/);
      expect(res.body).not.toContain('spine-cds');
    }
  });

  it('a wrong token, another scheme or a token with a suffix: 401', async () => {
    for (const authorization of [`Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      expect((await app.inject({ url: '/admin/summary.json', headers: { authorization } })).statusCode, authorization).toBe(401);
    }
  });

  it('the right token opens every path, and no EHR JWT is asked for', async () => {
    for (const url of PATHS) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` }, remoteAddress: '203.0.113.7' });
      expect(res.statusCode, url).toBe(200);
    }
    const json = await app.inject({ url: '/admin/summary.json', headers: { authorization: `Bearer ${TOKEN}`, origin: 'https://elsewhere.example' } });
    // The EHR-facing CORS policy does not extend to the dashboard.
    expect(json.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(json.body)).toMatchObject({ database: 'sqlite', serviceId: null, rows: [] });
  });
});

describe('development, no ADMIN_TOKEN', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ app } = await buildApp({ content: SPINE_CDS, config: loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:' }, SPINE_CDS) }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('open to loopback callers, 404 to anyone else', async () => {
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect((await app.inject({ url: '/admin', remoteAddress })).statusCode, remoteAddress).toBe(200);
    }
    for (const remoteAddress of ['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5']) {
      expect((await app.inject({ url: '/admin', remoteAddress })).statusCode, remoteAddress).toBe(404);
    }
  });
});

describe('adminAccess', () => {
  it('compares secrets of any length without throwing', () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret('short', TOKEN)).toBe(false);
    expect(sameSecret('', TOKEN)).toBe(false);
  });
  it('a configured token is required even on loopback in development', () => {
    expect(adminAccess({ production: false, adminToken: TOKEN }, undefined, '127.0.0.1')).toEqual({ ok: false, status: 401 });
    expect(adminAccess({ production: false, adminToken: TOKEN }, `bearer ${TOKEN}`, '10.1.1.1')).toEqual({ ok: true });
  });
});
