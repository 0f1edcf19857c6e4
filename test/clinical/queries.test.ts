import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPINE_PREFETCH } from '../../hooks/prefetch.js';
import type { Card } from '../../src/cards/types.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';
import { postJson } from '../support/requests.js';
import { startService } from '../support/service.js';
import { sendJson, startStubServer, type StubServer } from '../support/stub-servers.js';

/**
 * The prefetch templates against real servers: the kit's FHIR server answers every one of them, and a
 * server that rejects one is answered with a clear 412 (required key) or a card that says what was not
 * read (optional key). docs/data.md lists the US Core search each template relies on.
 */
const TOKEN = 'queries-token';
const PATIENT = 'q-patient';
let fhir: { baseUrl: string; stop(): Promise<void> };

const resources = [
  { resourceType: 'Patient', id: PATIENT, birthDate: '1980-01-01' },
  {
    resourceType: 'Condition', id: 'q-sci', subject: { reference: `Patient/${PATIENT}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M54.42', display: 'Lumbago with sciatica, left side' }] },
    onsetDateTime: '2026-11-06',
  },
  {
    resourceType: 'Observation', id: 'q-fd', status: 'final', subject: { reference: `Patient/${PATIENT}` },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '6077001', display: 'Foot drop' }] },
    bodySite: { coding: [{ system: 'http://snomed.info/sct', code: '22335008', display: 'Structure of left foot' }] },
    effectiveDateTime: '2026-11-19',
  },
];

beforeAll(async () => {
  fhir = await startFhirServer({ requireToken: TOKEN });
  await loadBundle(fhir.baseUrl, { resourceType: 'Bundle', type: 'transaction', entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })) } as never, TOKEN);
}, 120_000);
afterAll(async () => {
  await fhir?.stop();
});

describe('prefetch templates on the kit FHIR server', () => {
  it.each(SPINE_PREFETCH.map((t) => [t.key, t] as const))('%s is answered', async (_key, template) => {
    const query = template.query.replace('{{context.patientId}}', PATIENT);
    const res = await fetch(`${fhir.baseUrl}/${query}`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/fhir+json' } });
    expect(res.status, query).toBe(200);
    const body = (await res.json()) as { resourceType: string };
    expect(body.resourceType).toBe(template.read ? 'Patient' : 'Bundle');
  });

  it('the exam search finds the exam Observation and the lab search does not', async () => {
    const get = async (key: string) => {
      const t = SPINE_PREFETCH.find((x) => x.key === key)!;
      const res = await fetch(`${fhir.baseUrl}/${t.query.replace('{{context.patientId}}', PATIENT)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await res.json()) as { entry?: { resource: { id: string } }[] }).entry?.map((e) => e.resource.id) ?? [];
    };
    expect(await get('examObservations')).toEqual(['q-fd']);
    expect(await get('observations')).toEqual([]);
  });
});

describe('a FHIR server that rejects a template', () => {
  let stub: StubServer;
  let rejected: RegExp;
  beforeAll(async () => {
    // Forwards to the kit server, except the searches it "does not support" (HTTP 400, as HAPI answers).
    stub = await startStubServer(async (req, res) => {
      const path = (req.url ?? '').replace(/^\/fhir\/?/, '');
      if (rejected.test(decodeURIComponent(path))) {
        sendJson(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported', diagnostics: 'unsupported search' }] });
        return;
      }
      const upstream = await fetch(`${fhir.baseUrl}/${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      sendJson(res, upstream.status, await upstream.json());
    });
  });
  afterAll(async () => {
    await stub?.close();
  });

  async function call(): Promise<{ status: number; body: unknown }> {
    const service = await startService({ FHIR_SERVER_ALLOWLIST: new URL(stub.baseUrl).origin, FHIR_DEADLINE_MS: '10000' }, { now: () => new Date('2026-11-20T12:00:00Z') });
    try {
      return await postJson(`${service.baseUrl}/cds-services/spine-cds-patient-view`, {
        hook: 'patient-view',
        hookInstance: randomUUID(),
        context: { userId: 'Practitioner/dr-1', patientId: PATIENT },
        fhirServer: stub.baseUrl,
      });
    } finally {
      await service.close();
    }
  }

  it('a required key (Condition) gets a 412 naming the key and the HTTP status', async () => {
    rejected = /^Condition\?/;
    const res = await call();
    expect(res.status).toBe(412);
    const text = JSON.stringify(res.body);
    expect(text).toContain('prefetch.conditions');
    expect(text).toContain('HTTP 400');
  });

  it('an optional key (exam Observations) is named on the cards as not read, and no card says "No red flags found"', async () => {
    rejected = /^Observation\?.*category=/;
    const res = await call();
    expect(res.status).toBe(200);
    const cards = (res.body as { cards: Card[] }).cards;
    expect(cards.length).toBeGreaterThan(0);
    for (const card of cards) {
      expect(card.detail).toContain('Not read from the record (check by hand): examination findings');
      expect(card.summary).not.toContain('No red flags found');
    }
  });
});
