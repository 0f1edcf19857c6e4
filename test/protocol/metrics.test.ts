import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPrefetch, orderRequest, patientViewRequest, postJson, searchset } from '../support/requests.js';
import { loadConfig } from '../../src/config/config.js';
import { startService, type RunningService } from '../support/service.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';
import { makeKey, mint, writeIssuersFile, type TestKey } from '../security/support.js';
import { SPINE_CDS } from '../../hooks/index.js';

/**
 * /metrics in Prometheus text format, over real HTTP, after real calls: the series an operator
 * alerts on, with the labels they filter by. Development serves it on the main port with no token;
 * production only behind METRICS_TOKEN or on METRICS_PORT.
 */

/** The value of one sample line, e.g. sample(text, 'x_total', { a: 'b' }); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) return Number(value);
  }
  return undefined;
}

describe('/metrics in development', () => {
  let svc: RunningService;
  let fhir: StubServer;

  beforeAll(async () => {
    svc = await startService();
    fhir = await startStubServer((req, res) => {
      if ((req.url ?? '').includes('/Procedure')) sendJson(res, 200, searchset());
      else sendJson(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] });
    });
  });
  afterAll(async () => {
    await svc?.close();
    await fhir?.close();
  });

  const scrape = async () => {
    const response = await fetch(`${svc.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('counts calls by service, hook and status, with a latency histogram, and cards by topic and indicator', async () => {
    const url = `${svc.baseUrl}/cds-services/spine-cds-patient-view`;
    expect((await postJson(url, patientViewRequest())).status).toBe(200);
    expect((await postJson(url, { ...patientViewRequest(), hook: 'order-sign' })).status).toBe(400);
    // A draft lumbar MRI for a patient with no red flags draws the low-value imaging card.
    expect((await postJson(`${svc.baseUrl}/cds-services/spine-cds-order-sign`, orderRequest('order-sign'))).status).toBe(200);
    const text = await scrape();
    const ok = { service: 'spine-cds-patient-view', hook: 'patient-view', status: '200' };
    expect(sample(text, 'spine_cds_service_calls_total', ok)).toBe(1);
    expect(sample(text, 'spine_cds_service_calls_total', { ...ok, status: '400' })).toBe(1);
    expect(sample(text, 'spine_cds_service_call_duration_seconds_count', ok)).toBe(1);
    expect(sample(text, 'spine_cds_service_call_duration_seconds_bucket', { ...ok, le: '+Inf' })).toBe(1);
    expect(text).toMatch(/^spine_cds_cards_total\{topic="[a-z0-9-]+",indicator="(info|warning|critical)"\} [1-9]$/m);
  });

  it('times FHIR reads by key, counts failed ones, and counts 412s by missing key', async () => {
    const url = `${svc.baseUrl}/cds-services/spine-cds-patient-view`;
    const { procedures: _p, ...withoutProcedures } = fullPrefetch();
    expect((await postJson(url, patientViewRequest({ fhirServer: fhir.baseUrl, prefetch: withoutProcedures }))).status).toBe(200);
    const { patient: _patient, ...withoutPatient } = fullPrefetch();
    expect((await postJson(url, patientViewRequest({ fhirServer: fhir.baseUrl, prefetch: withoutPatient }))).status).toBe(412);
    const text = await scrape();
    expect(sample(text, 'spine_cds_fhir_fetch_duration_seconds_count', { key: 'procedures', result: 'ok' })).toBe(1);
    expect(sample(text, 'spine_cds_fhir_fetch_duration_seconds_count', { key: 'patient', result: 'failed' })).toBe(1);
    expect(sample(text, 'spine_cds_fhir_fetch_failures_total', { key: 'patient' })).toBe(1);
    expect(sample(text, 'spine_cds_fhir_fetch_failures_total', { key: 'procedures' })).toBeUndefined();
    expect(sample(text, 'spine_cds_precondition_failed_total', { key: 'patient' })).toBe(1);
    expect(sample(text, 'spine_cds_service_calls_total', { service: 'spine-cds-patient-view', status: '412' })).toBe(1);
  });

  it('counts feedback by outcome, and exports event-loop lag and heap', async () => {
    const feedback = [
      { card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString() },
      { card: randomUUID(), outcome: 'overridden', outcomeTimestamp: new Date().toISOString(), overrideReason: { userComment: 'seen' } },
    ];
    expect((await postJson(`${svc.baseUrl}/cds-services/spine-cds-order-sign/feedback`, { feedback })).status).toBe(200);
    const text = await scrape();
    expect(sample(text, 'spine_cds_feedback_total', { service: 'spine-cds-order-sign', outcome: 'overridden' })).toBe(2);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

describe('/metrics in production', () => {
  const TOKEN = 'metrics-token-0123456789abcdef0123456789';
  let key: TestKey;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  const services: RunningService[] = [];

  beforeAll(async () => {
    key = await makeKey('ES384');
    const written = await writeIssuersFile([{ iss: 'https://ehr.example', jwks: { keys: [key.publicJwk] } }]);
    cleanup = written.cleanup;
    env = {
      NODE_ENV: 'production',
      CDS_AUTH: 'required',
      CDS_ISSUERS: written.file,
      PUBLIC_BASE_URL: 'https://cds.example.org',
      FHIR_SERVER_ALLOWLIST: 'https://fhir.example.org',
      PATIENT_HASH_KEY: 'k'.repeat(32),
    };
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    await cleanup?.();
  });

  it('with METRICS_TOKEN: served on the main port to the token only, and counts auth failures by reason', async () => {
    const svc = await startService({ ...env, METRICS_TOKEN: TOKEN });
    services.push(svc);
    expect((await fetch(`${svc.baseUrl}/cds-services`)).status).toBe(401);
    const expired = await mint({ key, iss: 'https://ehr.example', aud: 'https://cds.example.org/cds-services', claims: { iat: 1_000, exp: 1_300 } });
    expect((await fetch(`${svc.baseUrl}/cds-services`, { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
    expect((await fetch(`${svc.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${svc.baseUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const response = await fetch(`${svc.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(sample(text, 'spine_cds_auth_failures_total', { reason: 'missing-authorization' })).toBe(1);
    expect(sample(text, 'spine_cds_auth_failures_total', { reason: 'expired' })).toBe(1);
  });

  it('with METRICS_PORT: served on that port only; the main port answers /metrics like any other path, 401', async () => {
    const svc = await startService({ ...env, METRICS_PORT: '0' });
    services.push(svc);
    const port = svc.logLines().map((l) => JSON.parse(l) as { metricsPort?: number }).find((l) => l.metricsPort)?.metricsPort;
    expect(port).toBeGreaterThan(0);
    expect((await fetch(`${svc.baseUrl}/metrics`)).status).toBe(401);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE spine_cds_service_calls_total counter');
  });

  it('without either: not served, and the startup warnings say so', async () => {
    const svc = await startService(env);
    services.push(svc);
    expect((await fetch(`${svc.baseUrl}/metrics`)).status).toBe(401);
    expect(loadConfig(env, SPINE_CDS).warnings.join('\n')).toMatch(/\/metrics is not served: in production set METRICS_PORT .* or METRICS_TOKEN/);
  });
});
