import type { Condition, FhirResource, Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { demoPatientBundles, resolveRelativeDates } from '../../kit/demo-patients/index.js';

const SPEC_TOPICS = [
  'cauda-equina',
  'myelopathy',
  'motor-deficit',
  'malignancy-suspected',
  'infection-suspected',
  'elevated-risk',
  'bilateral-radiculopathy',
  'conservative-care',
  'persistent-radiculopathy',
  'low-value-imaging',
  'insufficient-data',
];

const today = new Date('2026-03-31T15:00:00Z');
const patients = demoPatientBundles(today);
const resourcesOf = (id: string): FhirResource[] =>
  (patients.find((p) => p.id === id)?.bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
const daysBefore = (date: string, ref: Date): number => Math.round((ref.getTime() - Date.parse(`${date}T15:00:00Z`)) / 86_400_000);

describe('demo patients (kit/demo-patients)', () => {
  it('expect every card topic of docs/clinical-rules.md (Card topics) from at least one patient and hook', () => {
    const covered = new Set(patients.flatMap((p) => p.expect.flatMap((c) => c.topics)));
    expect([...covered].sort()).toEqual([...SPEC_TOPICS].sort());
    // D14: a patient with no relevant data gets no cards on patient-view.
    expect(patients.some((p) => p.expect.some((c) => c.hook === 'patient-view' && c.topics.length === 0))).toBe(true);
  });

  it('are transaction bundles of PUTs with stable ids, all about their own patient', () => {
    const ids = new Set<string>();
    for (const p of patients) {
      expect(p.bundle.type).toBe('transaction');
      for (const e of p.bundle.entry ?? []) {
        const r = e.resource as FhirResource;
        expect(e.request).toEqual({ method: 'PUT', url: `${r.resourceType}/${r.id}` });
        if (r.resourceType !== 'Practitioner') {
          expect(ids.has(`${r.resourceType}/${r.id}`), `duplicate ${r.resourceType}/${r.id}`).toBe(false);
          ids.add(`${r.resourceType}/${r.id}`);
        }
        const subject = (r as { subject?: { reference?: string } }).subject?.reference;
        if (subject) expect(subject).toBe(`Patient/${p.id}`);
      }
      expect(p.bundle.entry?.[0]?.resource).toMatchObject({ resourceType: 'Patient', id: p.id });
      expect(JSON.stringify(p.bundle)).not.toContain('{{');
    }
  });

  it('keep durations relative to the load day', () => {
    const later = new Date('2027-01-15T08:00:00Z');
    for (const day of [today, later]) {
      const sciatica = demoPatientBundles(day)
        .find((p) => p.id === 'demo-early-sciatica')
        ?.bundle.entry?.map((e) => e.resource)
        .find((r): r is Condition => r?.resourceType === 'Condition' && r.code?.coding?.some((c) => c.code === 'M54.41') === true);
      expect(daysBefore(sciatica?.onsetDateTime as string, day)).toBe(14);
    }
    const persistent = resourcesOf('demo-persistent-radiculopathy').find(
      (r): r is Condition => r.resourceType === 'Condition' && r.code?.coding?.some((c) => c.code === 'M54.16') === true,
    );
    expect(daysBefore(persistent?.onsetDateTime as string, today)).toBe(70);
  });

  it('resolve chained offsets and refuse unknown placeholders', () => {
    expect(resolveRelativeDates({ d: '{{today-1y-2m-3d}}', t: '{{today}}' }, today)).toEqual({ d: '2025-01-28', t: '2026-03-31' });
    expect(() => resolveRelativeDates({ d: '{{yesterday}}' }, today)).toThrow(/placeholder/);
  });

  it('use spec (a) codes with UCUM units, including a °F temperature and a mg/dL CRP', () => {
    const observations = patients.flatMap((p) => resourcesOf(p.id)).filter((r): r is Observation => r.resourceType === 'Observation');
    const unitOf = (loinc: string) =>
      observations.filter((o) => o.code.coding?.some((c) => c.system === 'http://loinc.org' && c.code === loinc)).map((o) => o.valueQuantity?.code);
    expect(unitOf('8310-5')).toContain('[degF]');
    expect(unitOf('1988-5')).toContain('mg/dL');
    for (const o of observations) expect(o.valueQuantity?.system).toBe('http://unitsofmeasure.org');
    const icd = patients
      .flatMap((p) => resourcesOf(p.id))
      .filter((r): r is Condition => r.resourceType === 'Condition')
      .flatMap((c) => c.code?.coding?.filter((k) => k.system === 'http://hl7.org/fhir/sid/icd-10-cm').map((k) => k.code) ?? []);
    expect(icd.length).toBeGreaterThan(20);
    for (const code of icd) expect(code).toMatch(/^[A-Z]\d\d(\.[0-9A-Z]{1,4})?$/);
  });
});
