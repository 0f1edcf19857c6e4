import { randomUUID } from 'node:crypto';
import type { Condition, DiagnosticReport, FhirResource, Observation } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExternalPatients, transactionOf, type ExternalPatient } from '../../kit/fixtures/external.js';
import { OBSERVATION_LOINC } from '../../hooks/prefetch.js';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';
import { postJson, searchset } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

/**
 * The SMART sample patients (real public data nobody on the team wrote; STU3 converted by the kit)
 * through both data paths: everything prefetched, and nothing prefetched so the service reads the
 * FHIR server. Their back pain dates from 2008–2012, so each is asked twice: today (a chronic
 * episode) and two weeks after the back-pain onset (an acute episode).
 */
const TOKEN = 'smart-fixture-token';
const BACK_PAIN_CODES = new Set(['279039007', '161891005']);
const LOW_VALUE = 'low-value-imaging';
const RED_FLAG_TOPICS = ['cauda-equina', 'myelopathy', 'motor-deficit', 'malignancy-suspected', 'infection-suspected', 'elevated-risk', 'bilateral-radiculopathy'];

let patients: ExternalPatient[];
let fhir: { baseUrl: string; stop(): Promise<void> };
let service: RunningService;
let clock = new Date();

function of<T extends FhirResource['resourceType']>(p: ExternalPatient, type: T): Extract<FhirResource, { resourceType: T }>[] {
  return p.resources.filter((r) => r.resourceType === type) as Extract<FhirResource, { resourceType: T }>[];
}

/** What each prefetch template of hooks/prefetch.ts would return for this patient. */
function prefetchFor(p: ExternalPatient): Record<string, unknown> {
  const loinc = new Set<string>(OBSERVATION_LOINC);
  const observations = of(p, 'Observation').filter((o: Observation) => o.code.coding?.some((c) => c.system === 'http://loinc.org' && loinc.has(c.code ?? '')));
  return {
    patient: of(p, 'Patient')[0] ?? null,
    conditions: searchset(of(p, 'Condition')),
    observations: searchset(observations),
    medicationRequests: searchset(of(p, 'MedicationRequest')),
    medicationStatements: searchset(of(p, 'MedicationStatement')),
    serviceRequests: searchset(of(p, 'ServiceRequest')),
    procedures: searchset(of(p, 'Procedure')),
    examObservations: searchset(of(p, 'Observation').filter(isExam)),
    diagnosticReports: searchset(of(p, 'DiagnosticReport').filter(isRadiology)),
    imagingStudies: searchset(of(p, 'ImagingStudy')),
  };
}

const isExam = (o: Observation) => (o.category ?? []).some((c) => c.coding?.some((x) => x.code === 'exam'));
const isRadiology = (r: DiagnosticReport) =>
  (r.category ?? []).some((c) => c.coding?.some((x) => (x.system === 'http://loinc.org' && x.code === 'LP29684-5') || x.code === 'RAD'));

function backPainOnset(p: ExternalPatient): Date | undefined {
  const dates = of(p, 'Condition')
    .filter((c: Condition) => c.code?.coding?.some((x) => BACK_PAIN_CODES.has(x.code ?? '')))
    .map((c) => Date.parse(c.onsetDateTime ?? c.recordedDate ?? ''))
    .filter(Number.isFinite);
  return dates.length > 0 ? new Date(Math.min(...dates)) : undefined;
}

function lumbarMriDraft(patientId: string): FhirResource {
  return {
    resourceType: 'ServiceRequest',
    id: 'smart-draft-mri',
    status: 'draft',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '72148', display: 'MRI lumbar spine without contrast' }] },
  };
}

type DataPath = 'prefetch' | 'fhirServer';

async function call(p: ExternalPatient, hook: 'patient-view' | 'order-select', path: DataPath): Promise<Card[]> {
  const context: Record<string, unknown> = { userId: 'Practitioner/smart-dr', patientId: p.id };
  if (hook === 'order-select') {
    context.selections = ['ServiceRequest/smart-draft-mri'];
    context.draftOrders = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: lumbarMriDraft(p.id) }] };
  }
  const body: Record<string, unknown> = { hook, hookInstance: randomUUID(), context };
  if (path === 'prefetch') body.prefetch = prefetchFor(p);
  else {
    body.fhirServer = fhir.baseUrl;
    body.fhirAuthorization = { access_token: TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'spine-cds', patient: p.id };
  }
  const service_ = hook === 'patient-view' ? 'spine-cds-patient-view' : 'spine-cds-order-select';
  const response = await postJson(`${service.baseUrl}/cds-services/${service_}`, body);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(checkCdsResponse(response.body)).toEqual([]);
  return (response.body as { cards: Card[] }).cards;
}

const topics = (cards: Card[]) => cards.map((c) => c.source.topic?.code ?? '').sort();

beforeAll(async () => {
  patients = (await loadExternalPatients()).filter((p) => p.source === 'smart-stu3');
  fhir = await startFhirServer({ requireToken: TOKEN });
  for (const p of patients) await loadBundle(fhir.baseUrl, transactionOf(p.resources), TOKEN);
  service = await startService({ FHIR_SERVER_ALLOWLIST: new URL(fhir.baseUrl).origin, FHIR_DEADLINE_MS: '10000' }, { now: () => clock });
}, 120_000);

afterAll(async () => {
  await service?.close();
  await fhir?.stop();
});

describe('SMART sample patients', () => {
  it('are all loaded, six of them with back pain', () => {
    expect(patients.length).toBe(7);
    expect(patients.filter((p) => backPainOnset(p) !== undefined).length).toBe(6);
  });

  it('today: chronic back pain gives no low-value card for lumbar MRI, and both data paths agree', async () => {
    clock = new Date();
    for (const p of patients) {
      const viewPrefetch = await call(p, 'patient-view', 'prefetch');
      const viewServer = await call(p, 'patient-view', 'fhirServer');
      expect(topics(viewServer), p.id).toEqual(topics(viewPrefetch));
      const order = await call(p, 'order-select', 'prefetch');
      expect(topics(await call(p, 'order-select', 'fhirServer')), p.id).toEqual(topics(order));
      if (backPainOnset(p)) {
        // Years of back pain: beyond the 6-week window (D11), never low value.
        expect(topics(order), p.id).not.toContain(LOW_VALUE);
        // No radiation and no red flag: nothing to say when the chart is opened (D14).
        if (!topics(viewPrefetch).some((t) => RED_FLAG_TOPICS.includes(t))) expect(topics(viewPrefetch), p.id).toEqual([]);
      } else {
        // No back, leg or arm pain: no patient-view card (D14) and no rating of the MRI (D13).
        expect(topics(viewPrefetch), p.id).toEqual([]);
        expect(topics(order), p.id).toEqual(['insufficient-data']);
      }
    }
  }, 180_000);

  it('two weeks into the episode: either a red flag or conservative care, and lumbar MRI is low value only without red flags', async () => {
    for (const p of patients) {
      const onset = backPainOnset(p);
      if (!onset) continue;
      clock = new Date(onset.getTime() + 14 * 24 * 3600 * 1000);
      for (const path of ['prefetch', 'fhirServer'] as const) {
        const view = topics(await call(p, 'patient-view', path));
        const redFlag = view.some((t) => RED_FLAG_TOPICS.includes(t));
        expect(redFlag || view.includes('conservative-care'), `${p.id} ${path}: ${view.join(', ')}`).toBe(true);
        const order = topics(await call(p, 'order-select', path));
        expect(order.includes(LOW_VALUE), `${p.id} ${path}: ${order.join(', ')}`).toBe(!redFlag);
      }
    }
  }, 180_000);

  // Cancer coded in SNOMED CT only, then back pain: smart-765583 (breast cancer a day before her
  // backache), smart-1272431 (prostate 2007 and kidney 2010, low back pain 2012).
  for (const [id, cancer] of [
    ['smart-765583', /malignant neoplasm of female breast/i],
    ['smart-1272431', /malignant neoplasm of prostate/i],
  ] as const) {
    it(`${id}: cancer history coded in SNOMED CT only, then back pain -> malignancy suspected, and lumbar MRI is not low value`, async () => {
      const p = patients.find((x) => x.id === id);
      const onset = p && backPainOnset(p);
      if (!p || !onset) throw new Error(`${id} or its back pain is missing from the fixtures`);
      clock = new Date(onset.getTime() + 14 * 24 * 3600 * 1000);
      for (const path of ['prefetch', 'fhirServer'] as const) {
        const cards = await call(p, 'patient-view', path);
        const card = cards.find((c) => c.source.topic?.code === 'malignancy-suspected');
        expect(card, `${path}: ${topics(cards).join(', ')}`).toBeDefined();
        expect(card?.detail).toMatch(cancer);
        expect(topics(cards)).not.toContain('conservative-care');
        expect(topics(await call(p, 'order-select', path))).not.toContain(LOW_VALUE);
      }
    }, 60_000);
  }
});
