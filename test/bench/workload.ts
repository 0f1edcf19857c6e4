import type { FhirResource } from 'fhir/r4';
import { OBSERVATION_LOINC, SPINE_PREFETCH } from '../../hooks/prefetch.js';

/** A seeded random source, and dates up to `maxDaysAgo` before `now` drawn from it: runs stay comparable. */
function seededClock(initialSeed: number, now: Date): { rand: () => number; date: (maxDaysAgo: number) => string } {
  let seed = initialSeed;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const day = 86_400_000;
  return { rand, date: (maxDaysAgo) => new Date(now.getTime() - Math.floor(rand() * maxDaysAgo) * day).toISOString() };
}

/**
 * A synthetic patient record of about `size` resources shaped like a real chart: mostly vitals and
 * labs the rules never read, some conditions and medications, and a few relevant observations.
 * Deterministic (seeded), so runs are comparable.
 */
export function syntheticRecord(size: number, patientId = 'bench-1', now = new Date()): FhirResource[] {
  const { rand, date } = seededClock(42, now);
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
 * Patient, all Conditions, only the Observations with the template's codes (and the exam ones), the
 * medications, orders, procedures and imaging.
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
    // Every optional key too: a key left out is logged and named on the card as not read, work a
    // real EHR's call does not cause.
    examObservations: searchset(
      of('Observation').filter((o) => o.resourceType === 'Observation' && o.category?.some((c) => c.coding?.some((k) => k.code === 'exam'))),
    ),
    serviceRequests: searchset(of('ServiceRequest')),
    procedures: searchset(of('Procedure')),
    diagnosticReports: searchset(of('DiagnosticReport')),
    imagingStudies: searchset(of('ImagingStudy')),
  };
}

/**
 * A chart dense in the rules' own data, as the prefetch templates return it (they filter by the
 * rules' codes, so nearly everything that arrives is evaluated): over two years, temperatures in °F
 * and °C (some axillary or tympanic), ESR, CRP in mg/L and in mg/dL, weights in kg and lb,
 * Conditions with long displays and several codings each, medications (some glucocorticoids), a
 * normal neurological examination charted as exam Observations, procedures and imaging reports.
 * Deterministic (seeded), so runs are comparable.
 */
export function denseRecord(size: number, patientId = 'bench-1', now = new Date()): FhirResource[] {
  const { rand, date } = seededClock(7, now);
  const subject = { reference: `Patient/${patientId}` };
  const loinc = (code: string, display: string) => ({ coding: [{ system: 'http://loinc.org', code, display }], text: display });
  const resources: FhirResource[] = [{ resourceType: 'Patient', id: patientId, birthDate: '1961-03-14', gender: 'male' }];
  const temperatureCodes = [
    ['8310-5', 'Body temperature'],
    ['8331-1', 'Oral temperature'],
    ['8328-7', 'Axillary temperature'],
    ['8333-7', 'Tympanic membrane temperature'],
  ] as const;
  // Two or three codings each, the way EHRs send a problem-list entry (local, ICD-10-CM, SNOMED CT).
  const conditions = [
    [['http://hl7.org/fhir/sid/icd-10-cm', 'M54.41', 'Lumbago with sciatica, right side'], ['http://snomed.info/sct', '202794004', 'Lumbago with sciatica']],
    [['http://hl7.org/fhir/sid/icd-10-cm', 'M54.16', 'Radiculopathy, lumbar region'], ['http://snomed.info/sct', '128196005', 'Lumbar radiculopathy']],
    [['http://hl7.org/fhir/sid/icd-10-cm', 'I10', 'Essential (primary) hypertension'], ['http://snomed.info/sct', '59621000', 'Essential hypertension']],
    [['http://hl7.org/fhir/sid/icd-10-cm', 'E11.65', 'Type 2 diabetes mellitus with hyperglycemia'], ['http://snomed.info/sct', '44054006', 'Diabetes mellitus type 2']],
    [['http://hl7.org/fhir/sid/icd-10-cm', 'K21.9', 'Gastro-esophageal reflux disease without esophagitis'], ['http://snomed.info/sct', '235595009', 'Gastroesophageal reflux disease']],
    [['http://hl7.org/fhir/sid/icd-10-cm', 'E78.5', 'Hyperlipidemia, unspecified'], ['http://snomed.info/sct', '55822004', 'Hyperlipidemia']],
  ] as const;
  const medications = [
    ['8640', 'predniSONE 10 MG Oral Tablet'],
    ['197361', 'amLODIPine 5 MG Oral Tablet'],
    ['860975', 'metFORMIN hydrochloride 500 MG Extended Release Oral Tablet'],
    ['310965', 'Ibuprofen 200 MG Oral Tablet'],
  ] as const;
  const observation = (id: string, code: ReturnType<typeof loinc>, category: string, valueQuantity: { value: number; unit: string; code: string }) =>
    ({
      resourceType: 'Observation',
      id,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
      code,
      subject,
      effectiveDateTime: date(730),
      valueQuantity: { ...valueQuantity, system: 'http://unitsofmeasure.org' },
    }) as FhirResource;
  for (let i = 1; resources.length < size; i++) {
    const r = rand();
    if (r < 0.3) {
      const [code, display] = temperatureCodes[i % temperatureCodes.length]!;
      const fahrenheit = rand() < 0.5;
      const celsius = 36 + Math.round(rand() * 30) / 10;
      resources.push(
        observation(`t${i}`, loinc(code, display), 'vital-signs', fahrenheit ? { value: Math.round(((celsius * 9) / 5 + 32) * 10) / 10, unit: '°F', code: '[degF]' } : { value: celsius, unit: '°C', code: 'Cel' }),
      );
    } else if (r < 0.4) {
      resources.push(observation(`esr${i}`, loinc('4537-7', 'Erythrocyte sedimentation rate by Westergren method'), 'laboratory', { value: Math.round(rand() * 60), unit: 'mm/h', code: 'mm/h' }));
    } else if (r < 0.5) {
      const perDecilitre = rand() < 0.5;
      const mgPerL = Math.round(rand() * 400) / 10;
      resources.push(
        observation(`crp${i}`, loinc('1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma'), 'laboratory', perDecilitre ? { value: mgPerL / 10, unit: 'mg/dL', code: 'mg/dL' } : { value: mgPerL, unit: 'mg/L', code: 'mg/L' }),
      );
    } else if (r < 0.62) {
      const pounds = rand() < 0.5;
      const kg = 70 + Math.round(rand() * 100) / 10;
      resources.push(observation(`w${i}`, loinc('29463-7', 'Body weight'), 'vital-signs', pounds ? { value: Math.round(kg * 22.046) / 10, unit: 'lb', code: '[lb_av]' } : { value: kg, unit: 'kg', code: 'kg' }));
    } else if (r < 0.85) {
      const codings = conditions[i % conditions.length]!.map(([system, code, display]) => ({ system, code, display }));
      const text = `${codings[0]!.display} (${date(730).slice(0, 10)}), followed in clinic; see problem-list history and outside records for the earlier course of this problem`;
      resources.push({
        resourceType: 'Condition',
        id: `c${i}`,
        subject,
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
        code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.3.247.1.1', code: `LOCAL-${i % 97}`, display: text }, ...codings], text },
        onsetDateTime: date(730),
        recordedDate: date(730),
      });
    } else if (r < 0.92) {
      resources.push(examObservation(i, subject, date(730), rand()));
    } else if (r < 0.95) {
      resources.push(procedureOrImaging(i, subject, date(730), rand()));
    } else {
      const [code, display] = medications[i % medications.length]!;
      resources.push({
        resourceType: 'MedicationRequest',
        id: `m${i}`,
        status: rand() < 0.7 ? 'active' : 'completed',
        intent: 'order',
        subject,
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code, display }], text: display },
        authoredOn: date(730),
        dosageInstruction: [{ text: 'Take 1 tablet by mouth daily', timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } }],
      });
    }
  }
  return resources;
}

const SCT = 'http://snomed.info/sct';
const sct = (code: string, display: string) => ({ coding: [{ system: SCT, code, display }], text: display });
const LEFT_LOWER_LIMB = sct('32153003', 'Structure of left lower limb');

/**
 * The neurological examination as EHRs chart it (issue 13's shapes): muscle power graded 5/5, a
 * straight-leg raise with a coded answer, saddle sensation intact, each with a bodySite; all normal,
 * so the record keeps its no-red-flag picture while the exam mappings read every one of them.
 */
function examObservation(i: number, subject: { reference: string }, when: string, pick: number): FhirResource {
  const base = {
    resourceType: 'Observation' as const,
    id: `x${i}`,
    status: 'final' as const,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam' }] }],
    subject,
    effectiveDateTime: when,
    bodySite: LEFT_LOWER_LIMB,
  };
  if (pick < 0.4) return { ...base, code: sct('249950004', 'Muscle power'), valueQuantity: { value: 5, unit: '/5', system: 'http://unitsofmeasure.org', code: '{score}' } };
  if (pick < 0.8) return { ...base, code: sct('164490000', 'Straight leg raise test'), valueCodeableConcept: sct('17621005', 'Normal') };
  return { ...base, code: sct('426826007', 'Saddle anaesthesia'), valueCodeableConcept: sct('17621005', 'Normal') };
}

/**
 * Procedures and imaging already done, read by the prior-surgery and duplicate-imaging checks: an
 * unrelated procedure, chest and lumbar radiograph reports, and an imaging study.
 */
function procedureOrImaging(i: number, subject: { reference: string }, when: string, pick: number): FhirResource {
  if (pick < 0.5) {
    return { resourceType: 'Procedure', id: `p${i}`, status: 'completed', subject, code: sct('73761001', 'Colonoscopy'), performedDateTime: when };
  }
  const radiology = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] }];
  if (pick < 0.9) {
    const lumbar = pick < 0.6;
    return {
      resourceType: 'DiagnosticReport',
      id: `dr${i}`,
      status: 'final',
      category: radiology,
      code: lumbar
        ? { coding: [{ system: 'http://loinc.org', code: '30773-6', display: 'XR Lumbar spine 2 or 3 views' }], text: 'XR Lumbar spine 2 or 3 views' }
        : { coding: [{ system: 'http://loinc.org', code: '36643-5', display: 'XR Chest 2 Views' }], text: 'XR Chest 2 Views' },
      subject,
      effectiveDateTime: when,
      issued: when,
    };
  }
  return { resourceType: 'ImagingStudy', id: `is${i}`, status: 'available', subject, started: when, modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CR' }] };
}

export type Workload = 'sparse' | 'dense';

export function hookRequest(size: number, workload: Workload = 'sparse'): { body: string; recordBytes: number; prefetchBytes: number } {
  const record = workload === 'dense' ? denseRecord(size) : syntheticRecord(size);
  const prefetch = prefetchFor(record);
  const missing = SPINE_PREFETCH.map((t) => t.key).filter((key) => !(key in prefetch));
  if (missing.length > 0) throw new Error(`bench prefetch lacks template keys ${missing.join(', ')}: the service would log and card them as not read`);
  const body = JSON.stringify({
    hook: 'patient-view',
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    context: { userId: 'Practitioner/bench', patientId: 'bench-1' },
    prefetch,
  });
  return { body, recordBytes: JSON.stringify(record).length, prefetchBytes: JSON.stringify(prefetch).length };
}
