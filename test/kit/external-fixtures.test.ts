import type { Bundle, Condition, FhirResource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachReference } from '../../kit/fhir/references.js';
import { externalTransactionBundles, loadExternalPatients, type ExternalPatient } from '../../kit/fixtures/external.js';
import { loadBundle, startFhirServer } from '../support/fhir-server.js';

const SNOMED = 'http://snomed.info/sct';

function hasCondition(p: ExternalPatient, code: string): boolean {
  return p.resources.some(
    (r) => r.resourceType === 'Condition' && (r.code?.coding ?? []).some((c) => c.system === SNOMED && c.code === code),
  );
}

function patientRefOf(r: FhirResource): string | undefined {
  return (r as { subject?: { reference?: string } }).subject?.reference ?? (r as { patient?: { reference?: string } }).patient?.reference;
}

describe('external fixture loader (kit/fixtures/external)', () => {
  let patients: ExternalPatient[];

  beforeAll(async () => {
    patients = await loadExternalPatients();
  });

  it('returns the patients the fixture README lists, from each source', () => {
    const byId = new Map(patients.map((p) => [p.id, p]));
    // SMART sample patients with low back pain (279039007) or backache (161891005).
    for (const id of ['smart-981968', 'smart-1272431', 'smart-1627321', 'smart-1685497']) {
      expect(byId.get(id)?.source).toBe('smart-stu3');
      expect(hasCondition(byId.get(id) as ExternalPatient, '279039007')).toBe(true);
    }
    for (const id of ['smart-1520204', 'smart-765583']) expect(hasCondition(byId.get(id) as ExternalPatient, '161891005')).toBe(true);
    expect(byId.get('smart-8888804')?.source).toBe('smart-stu3');
    expect(byId.get('355')?.source).toBe('inferno-uscore');
    // Synthea bulk: 13 patients, two with chronic low back pain (278860009).
    const bulk = patients.filter((p) => p.source === 'synthea-bulk');
    expect(bulk).toHaveLength(13);
    expect(bulk.filter((p) => hasCondition(p, '278860009')).map((p) => p.id).sort()).toEqual([
      'ca15b832-01e4-41dd-6a52-97bd3e5510cb',
      'fb7c882a-f897-e7c5-67e0-825e7fd55d15',
    ]);
    expect(patients.filter((p) => p.source === 'synthea-bundle').map((p) => p.name).sort()).toEqual([
      'Buster Hoeger',
      'Clemente Kreiger',
      'Randolph Wisoky',
    ]);
  });

  it('merges the SMART base, .01 and .02 files of one patient', () => {
    const helen = patients.find((p) => p.id === 'smart-1520204') as ExternalPatient;
    // The Patient sits in .01, the backache in the base file, most temperatures in .02.
    expect(helen.resources[0]?.resourceType).toBe('Patient');
    const temps = helen.resources.filter(
      (r) => r.resourceType === 'Observation' && r.code.coding?.some((c) => c.code === '8310-5'),
    );
    expect(temps).toHaveLength(38);
  });

  it('gives every resource an id and keeps each patient\'s data pointing at that patient only', () => {
    for (const p of patients) {
      const keys = new Set<string>();
      for (const r of p.resources) {
        expect(r.id, `${p.id}: ${r.resourceType} without id`).toBeTruthy();
        keys.add(`${r.resourceType}/${r.id}`);
        const owner = patientRefOf(r);
        if (owner !== undefined) expect(owner).toBe(`Patient/${p.id}`);
      }
      for (const r of p.resources) {
        forEachReference(r, (ref) => {
          const reference = ref.reference as string;
          expect(reference.startsWith('urn:')).toBe(false);
          if (!reference.startsWith('#')) expect(keys.has(reference), `${p.id}: dangling ${reference}`).toBe(true);
        });
      }
    }
  });

  it('leaves no STU3 status codes behind', () => {
    const conditions = patients.flatMap((p) => p.resources.filter((r): r is Condition => r.resourceType === 'Condition'));
    expect(conditions.length).toBeGreaterThan(80);
    for (const c of conditions) expect(typeof c.clinicalStatus).not.toBe('string');
  });
});

describe('external fixtures on a real FHIR server', () => {
  let server: { baseUrl: string; stop(): Promise<void> };
  let bundles: Bundle[];

  beforeAll(async () => {
    server = await startFhirServer();
    bundles = await externalTransactionBundles();
    for (const bundle of bundles) await loadBundle(server.baseUrl, bundle);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('builds PUT-only transaction bundles', () => {
    for (const b of bundles) {
      expect(b.type).toBe('transaction');
      for (const e of b.entry ?? []) expect(e.request?.url).toBe(`${e.resource?.resourceType}/${e.resource?.id}`);
    }
  });

  it('finds the SMART low back pain with an R4 clinical-status search', async () => {
    const res = await fetch(`${server.baseUrl}/Condition?patient=smart-981968&clinical-status=active`);
    const bundle = (await res.json()) as Bundle;
    const codes = (bundle.entry ?? []).flatMap((e) => (e.resource as Condition).code?.coding?.map((c) => c.code) ?? []);
    expect(codes).toContain('279039007');
  });

  it('searches by patient on types whose R4 patient parameter is not `subject` (per-type search parameters)', async () => {
    const res = await fetch(`${server.baseUrl}/AllergyIntolerance?patient=smart-981968`);
    const bundle = (await res.json()) as Bundle;
    expect(bundle.total).toBe(1);
    expect(bundle.entry?.[0]?.resource?.resourceType).toBe('AllergyIntolerance');
  });

  it('loads idempotently: a second load leaves one copy of each resource', async () => {
    const smart = bundles.find((b) => b.entry?.[0]?.resource?.id === 'smart-981968') as Bundle;
    await loadBundle(server.baseUrl, smart);
    const res = await fetch(`${server.baseUrl}/Condition?patient=smart-981968&_count=0`);
    const expected = smart.entry?.filter((e) => e.resource?.resourceType === 'Condition').length;
    expect(((await res.json()) as Bundle).total).toBe(expected);
  });
});
