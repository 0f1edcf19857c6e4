import type { ServerResponse } from 'node:http';
import type { Bundle, FhirResource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPINE_PREFETCH } from '../../hooks/prefetch.js';
import { CallDeadline, resolvePatientRecord } from '../../src/data/resolve.js';
import { startFhirServer, loadBundle } from '../support/fhir-server.js';
import { fullPrefetch, patientViewRequest, postJson, searchset } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';
import { sendJson, startStubServer } from '../support/stub-servers.js';

const PATIENT = 'fetch-1';
const TOKEN = 'ehr-access-token-123';
const OBSERVATION_COUNT = 230; // > 2 pages of the template's _count=100

let fhir: { baseUrl: string; stop(): Promise<void> };
let svc: RunningService;

function transaction(resources: FhirResource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
}

beforeAll(async () => {
  fhir = await startFhirServer({ requireToken: TOKEN });
  const observations: FhirResource[] = Array.from({ length: OBSERVATION_COUNT }, (_, i) => ({
    resourceType: 'Observation',
    id: `temp-${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
    subject: { reference: `Patient/${PATIENT}` },
    effectiveDateTime: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
    valueQuantity: { value: 36.8, unit: 'Cel', system: 'http://unitsofmeasure.org', code: 'Cel' },
  }));
  const resources: FhirResource[] = [
      { resourceType: 'Patient', id: PATIENT, birthDate: '1970-01-01' },
      {
        resourceType: 'Condition',
        id: 'lbp-1',
        subject: { reference: `Patient/${PATIENT}` },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '279039007', display: 'Low back pain' }] },
      },
      ...observations,
  ];
  // Servers cap the size of one transaction (medplum: 100 updates); load in chunks as a seeder would.
  for (let i = 0; i < resources.length; i += 50) await loadBundle(fhir.baseUrl, transaction(resources.slice(i, i + 50)), TOKEN);
  svc = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin, FHIR_DEADLINE_MS: '5000' });
}, 90_000);

afterAll(async () => {
  await svc?.close();
  await fhir?.stop();
});

const auth = (token = TOKEN) => ({ access_token: token, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'spine-cds', patient: PATIENT });
const url = () => `${svc.baseUrl}/cds-services/spine-cds-patient-view`;

function summaryFor(hookInstance: string): Record<string, unknown> {
  const line = svc.logLines().map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.hookInstance === hookInstance && l.msg === 'request completed');
  expect(line, `summary line for ${hookInstance}`).toBeDefined();
  return line!;
}

describe('the FHIR-server path against a real FHIR R4 server', () => {
  it('fetches every key from the FHIR server when nothing is prefetched, with the bearer token', async () => {
    const body = patientViewRequest({ prefetch: undefined, fhirServer: fhir.baseUrl, fhirAuthorization: auth() }, PATIENT);
    const res = await postJson(url(), body);
    expect(res.status).toBe(200);
    const summary = summaryFor(body.hookInstance as string);
    expect((summary.fetched as string[]).sort()).toEqual(SPINE_PREFETCH.map((t) => t.key).sort());
    expect(summary.unavailable).toEqual([]);
  });

  it('follows Bundle.link[next] across pages and returns every resource', async () => {
    const { record } = await resolvePatientRecord(
      { templates: SPINE_PREFETCH, context: { patientId: PATIENT }, prefetch: undefined, fhirServer: fhir.baseUrl, accessToken: TOKEN },
      { policy: { production: true, allowlist: [new URL(fhir.baseUrl).origin] }, deadline: new CallDeadline(10_000), maxConcurrency: 4, maxPages: 10 },
    );
    expect(record.observations).toHaveLength(OBSERVATION_COUNT);
    expect(new Set(record.observations.map((o) => o.id)).size).toBe(OBSERVATION_COUNT);
    expect(record.patient?.id).toBe(PATIENT);
    expect(record.conditions.map((c) => c.id)).toEqual(['lbp-1']);
    expect(record.gaps).toEqual([]);
  });

  it('stops at the page cap and reports the truncation as a data gap instead of hiding it', async () => {
    const { record } = await resolvePatientRecord(
      { templates: SPINE_PREFETCH, context: { patientId: PATIENT }, prefetch: undefined, fhirServer: fhir.baseUrl, accessToken: TOKEN },
      { policy: { production: true, allowlist: [new URL(fhir.baseUrl).origin] }, deadline: new CallDeadline(10_000), maxConcurrency: 4, maxPages: 2 },
    );
    expect(record.observations).toHaveLength(200);
    expect(record.gaps).toEqual([expect.objectContaining({ key: 'observations' })]);
  });

  it('fetches only the keys that were not usably prefetched', async () => {
    const prefetch = fullPrefetch({ observations: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'timeout' }] } }, PATIENT);
    delete prefetch.conditions;
    const body = patientViewRequest({ prefetch, fhirServer: fhir.baseUrl, fhirAuthorization: auth() }, PATIENT);
    const res = await postJson(url(), body);
    expect(res.status).toBe(200);
    const summary = summaryFor(body.hookInstance as string);
    expect((summary.fetched as string[]).sort()).toEqual(['conditions', 'observations']);
  });

  it('treats null and an empty searchset as "no data", not as missing', async () => {
    const prefetch = fullPrefetch({ patient: null, conditions: searchset() }, PATIENT);
    const body = patientViewRequest({ prefetch }, PATIENT); // no fhirServer: nothing may be fetched
    const res = await postJson(url(), body);
    expect(res.status).toBe(200);
  });

  it('follows next links of a paginated prefetch on the FHIR server', async () => {
    const next = `${fhir.baseUrl}/Observation?patient=${PATIENT}&code=http://loinc.org|8310-5&_count=100&_offset=100`;
    const prefetch = fullPrefetch({ observations: searchset([], next) }, PATIENT);
    const body = patientViewRequest({ prefetch, fhirServer: fhir.baseUrl, fhirAuthorization: auth() }, PATIENT);
    expect((await postJson(url(), body)).status).toBe(200);
  });

  it('answers 412 naming the keys when the FHIR server refuses the token', async () => {
    const res = await postJson(url(), patientViewRequest({ prefetch: undefined, fhirServer: fhir.baseUrl, fhirAuthorization: auth('wrong') }, PATIENT));
    expect(res.status).toBe(412);
    const text = JSON.stringify(res.body);
    for (const key of ['patient', 'conditions', 'observations']) expect(text).toContain(`prefetch.${key}`);
    expect(text).not.toContain('wrong'); // the token is never echoed
  });
});

describe('412 when required data cannot be had', () => {
  it('names the missing keys when there is no fhirServer', async () => {
    const prefetch = fullPrefetch();
    delete prefetch.conditions;
    delete prefetch.observations;
    const res = await postJson(url(), patientViewRequest({ prefetch }));
    expect(res.status).toBe(412);
    const issues = (res.body as { issue: Array<{ expression?: string[] }> }).issue.flatMap((i) => i.expression ?? []);
    expect(issues.sort()).toEqual(['prefetch.conditions', 'prefetch.observations']);
  });

  it('turns missing optional keys into data gaps, not failures', async () => {
    const prefetch = fullPrefetch();
    delete prefetch.procedures;
    delete prefetch.medicationStatements;
    expect((await postJson(url(), patientViewRequest({ prefetch }))).status).toBe(200);
  });
});

describe('misbehaving FHIR servers', () => {
  it('respects the deadline of a server that never answers (412)', async () => {
    const hanging = await startStubServer(() => undefined);
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(hanging.baseUrl).origin, FHIR_DEADLINE_MS: '300' });
    try {
      const res = await postJson(`${local.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest({ prefetch: undefined, fhirServer: hanging.baseUrl }));
      expect(res.status).toBe(412);
      expect(JSON.stringify(res.body)).toContain('deadline');
    } finally {
      await local.close();
      await hanging.close();
    }
  });

  it.each([
    ['a 500', (res: ServerResponse) => sendJson(res, 500, { resourceType: 'OperationOutcome', issue: [] })],
    ['an HTML page', (res: ServerResponse) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>login</html>'); }],
    ['JSON that is not FHIR', (res: ServerResponse) => sendJson(res, 200, { hello: 'world' })],
    ['a Bundle where a Patient was expected and vice versa', (res: ServerResponse) => sendJson(res, 200, { resourceType: 'Basic' })],
  ])('answers 412 for %s', async (_name, respond) => {
    const bad = await startStubServer((_req, res) => respond(res));
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(bad.baseUrl).origin });
    try {
      const res = await postJson(`${local.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest({ prefetch: undefined, fhirServer: bad.baseUrl }));
      expect(res.status).toBe(412);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome' });
    } finally {
      await local.close();
      await bad.close();
    }
  });

  it('bounds how many queries run at once', async () => {
    const slow = await startStubServer(async (req, res) => {
      await new Promise((r) => setTimeout(r, 50));
      if (req.url?.includes('/Patient/')) sendJson(res, 200, { resourceType: 'Patient', id: 'p1' });
      else sendJson(res, 200, searchset());
    });
    const local = await startService({ FHIR_SERVER_ALLOWLIST: new URL(slow.baseUrl).origin, FHIR_MAX_CONCURRENCY: '2' });
    try {
      const res = await postJson(`${local.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest({ prefetch: undefined, fhirServer: slow.baseUrl }));
      expect(res.status).toBe(200);
      expect(slow.requests).toHaveLength(SPINE_PREFETCH.length);
      expect(slow.maxInFlight).toBeLessThanOrEqual(2);
    } finally {
      await local.close();
      await slow.close();
    }
  });
});

describe('the fhirServer allowlist', () => {
  it('refuses an origin that is not allowed with a 4xx and makes no network call', async () => {
    const other = await startStubServer((_req, res) => sendJson(res, 200, searchset()));
    try {
      // svc allows only the real FHIR server's origin; `other` listens on a different port.
      const res = await postJson(url(), patientViewRequest({ prefetch: undefined, fhirServer: other.baseUrl }));
      expect(res.status).toBe(403);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('refuses a next link that points at another origin', async () => {
    const other = await startStubServer((_req, res) => sendJson(res, 200, searchset()));
    try {
      const prefetch = fullPrefetch({ observations: searchset([], `${other.baseUrl}/Observation?page=2`) }, PATIENT);
      const res = await postJson(url(), patientViewRequest({ prefetch, fhirServer: fhir.baseUrl, fhirAuthorization: auth() }, PATIENT));
      expect(res.status).toBe(412);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});
