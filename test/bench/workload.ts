import type { FhirResource } from 'fhir/r4';
import { OBSERVATION_LOINC } from '../../hooks/prefetch.js';

/**
 * A synthetic patient record of about `size` resources shaped like a real chart: mostly vitals and
 * labs the rules never read, some conditions and medications, and a few relevant observations.
 * Deterministic (seeded), so runs are comparable.
 */
export function syntheticRecord(size: number, patientId = 'bench-1', now = new Date()): FhirResource[] {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const day = 86_400_000;
  const date = (maxDaysAgo: number) => new Date(now.getTime() - Math.floor(rand() * maxDaysAgo) * day).toISOString();
  const subject = { reference: `Patient/${patientId}` };
  const resources: FhirResource[] = [{ resourceType: 'Patient', id: patientId, birthDate: '1961-03-14', gender: 'male' }];
  const relevantCodes = ['8310-5', '29463-7', '72514-3', '4537-7', '1988-5'];
  const noiseCodes = ['85354-9', '8867-4', '9279-1', '2708-6', '39156-5', '2339-0', '6690-2', '718-7'];
  const conditionCodes = [
    ['http://snomed.info/sct', '279039007', 'Low back pain'],
    ['http://hl7.org/fhir/sid/icd-10-cm', 'M54.41', 'Lumbago with sciatica, right side'],
    ['http://hl7.org/fhir/sid/icd-10-cm', 'I10', 'Essential hypertension'],
    ['http://hl7.org/fhir/sid/icd-10-cm', 'E11.9', 'Type 2 diabetes mellitus'],
    ['http://snomed.info/sct', '195662009', 'Acute viral pharyngitis'],
  ] as const;
  for (let i = 1; resources.length < size; i++) {
    const r = rand();
    if (r < 0.06) {
      const [system, code, display] = conditionCodes[i % conditionCodes.length]!;
      resources.push({
        resourceType: 'Condition',
        id: `c${i}`,
        subject,
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
        code: { coding: [{ system, code, display }], text: display },
        onsetDateTime: date(60),
        recordedDate: date(60),
      });
    } else if (r < 0.72) {
      const relevant = rand() < 0.25;
      const code = relevant ? relevantCodes[i % relevantCodes.length]! : noiseCodes[i % noiseCodes.length]!;
      resources.push({
        resourceType: 'Observation',
        id: `o${i}`,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: relevant ? 'vital-signs' : 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code }] },
        subject,
        effectiveDateTime: date(365),
        valueQuantity: { value: Math.round(rand() * 1000) / 10, unit: 'u', system: 'http://unitsofmeasure.org', code: code === '8310-5' ? 'Cel' : code === '29463-7' ? 'kg' : '1' },
      });
    } else if (r < 0.85) {
      resources.push({
        resourceType: 'MedicationRequest',
        id: `m${i}`,
        status: 'active',
        intent: 'order',
        subject,
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: i % 7 === 0 ? '5640' : '197361' }] },
        authoredOn: date(365),
      });
    } else {
      resources.push({
        resourceType: 'Encounter',
        id: `e${i}`,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: date(365) },
      });
    }
  }
  return resources;
}

const searchset = (resources: FhirResource[]) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total: resources.length,
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
});

/**
 * What an EHR sends after executing the service's prefetch templates against that record: the
 * Patient, all Conditions, only the Observations with the template's codes, the medications.
 */
export function prefetchFor(record: FhirResource[]): Record<string, unknown> {
  const codes = new Set<string>(OBSERVATION_LOINC);
  const of = <T extends FhirResource['resourceType']>(type: T) => record.filter((r) => r.resourceType === type);
  return {
    patient: record.find((r) => r.resourceType === 'Patient') ?? null,
    conditions: searchset(of('Condition')),
    observations: searchset(
      of('Observation').filter((o) => o.resourceType === 'Observation' && o.code.coding?.some((c) => codes.has(c.code ?? ''))),
    ),
    medicationRequests: searchset(of('MedicationRequest')),
    medicationStatements: searchset(of('MedicationStatement')),
    serviceRequests: searchset(of('ServiceRequest')),
    procedures: searchset(of('Procedure')),
  };
}

export function hookRequest(size: number): { body: string; recordBytes: number; prefetchBytes: number } {
  const record = syntheticRecord(size);
  const prefetch = prefetchFor(record);
  const body = JSON.stringify({
    hook: 'patient-view',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    context: { userId: 'Practitioner/bench', patientId: 'bench-1' },
    prefetch,
  });
  return { body, recordBytes: JSON.stringify(record).length, prefetchBytes: JSON.stringify(prefetch).length };
}
