import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Condition, FhirResource, MedicationRequest, MedicationStatement, Observation, Patient, Procedure, ServiceRequest } from 'fhir/r4';
import { loadExternalPatients, type ExternalPatient } from '../../kit/fixtures/external.js';
import { recordFromResources } from '../../src/data/record-builder.js';
import { evaluateFindings, loadMappings, MappingLoadError, type FindingId, type FindingsResult, type MappingSet } from '../../src/findings/index.js';
import type { PatientRecord } from '../../src/data/record.js';

/**
 * Hand-made FHIR R4 resources for the findings tests (ours, not real data; the real fixtures live in
 * test/fixtures/external and are used by fixtures.test.ts).
 */

export const MAPPINGS_DIR = fileURLToPath(new URL('../../mappings', import.meta.url));
export const SCT = 'http://snomed.info/sct';
export const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
export const WHO = 'http://hl7.org/fhir/sid/icd-10';
export const LOINC = 'http://loinc.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const UCUM = 'http://unitsofmeasure.org';

export const NOW = new Date('2026-06-15T12:00:00Z');

export function daysAgo(days: number, now: Date = NOW): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}

let cached: Promise<MappingSet> | undefined;
export function shippedMappings(): Promise<MappingSet> {
  cached ??= loadMappings(MAPPINGS_DIR);
  return cached;
}

/**
 * Loads the mappings in `dir`, which a test has broken: the load must fail with a MappingLoadError
 * whose message names the file, the field and the reason.
 */
/**
 * A throwaway copy of the shipped value sets and finding definitions, for tests that break one file
 * and check the load fails; removed after each test.
 */
export function useMappingsCopy(): { dir: () => string } {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mappings-'));
    await cp(path.join(MAPPINGS_DIR, 'valuesets'), path.join(dir, 'valuesets'), { recursive: true });
    await cp(path.join(MAPPINGS_DIR, 'findings'), path.join(dir, 'findings'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return { dir: () => dir };
}

export async function expectLoadFailure(dir: string): Promise<MappingLoadError> {
  const err = await loadMappings(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MappingLoadError);
  const e = err as MappingLoadError;
  expect(e.message).toContain(e.file);
  expect(e.message).toContain(e.field);
  expect(e.message).toContain(e.reason);
  return e;
}

let external: Promise<Map<string, ExternalPatient>> | undefined;
/** The shipped mappings over one of the real public fixture patients (test/fixtures/external) at `now`. */
export async function evaluateExternal(id: string, now: string): Promise<FindingsResult> {
  external ??= loadExternalPatients().then((all) => new Map(all.map((p) => [p.id, p])));
  const p = (await external).get(id);
  if (!p) throw new Error(`fixture patient ${id} not found`);
  return evaluateFindings(await shippedMappings(), recordFromResources(p.resources, p.id), new Date(now));
}

let seq = 0;
const nextId = (prefix: string): string => `${prefix}-${++seq}`;

export interface ConditionSpec {
  system?: string;
  code: string;
  display?: string;
  clinical?: string | null;
  verification?: string;
  onset?: string;
  onsetPeriodStart?: string;
  recorded?: string;
  bodySite?: { system: string; code: string }[];
  id?: string;
}

export function condition(spec: ConditionSpec): Condition {
  const c: Condition = {
    resourceType: 'Condition',
    id: spec.id ?? nextId('cond'),
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: spec.system ?? ICD, code: spec.code, ...(spec.display ? { display: spec.display } : {}) }] },
  };
  if (spec.clinical !== null) {
    c.clinicalStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: spec.clinical ?? 'active' }] };
  }
  if (spec.verification) {
    c.verificationStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: spec.verification }] };
  }
  if (spec.onset) c.onsetDateTime = spec.onset;
  if (spec.onsetPeriodStart) c.onsetPeriod = { start: spec.onsetPeriodStart };
  if (spec.recorded) c.recordedDate = spec.recorded;
  if (spec.bodySite) c.bodySite = [{ coding: spec.bodySite }];
  return c;
}

export interface ObservationSpec {
  code: string;
  system?: string;
  value?: number;
  unit?: string | null;
  unitText?: string;
  status?: string;
  effective?: string;
  issued?: string;
  interpretation?: string;
  valueInteger?: number;
  id?: string;
}

export function observation(spec: ObservationSpec): Observation {
  const o: Observation = {
    resourceType: 'Observation',
    id: spec.id ?? nextId('obs'),
    status: (spec.status ?? 'final') as Observation['status'],
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: spec.system ?? LOINC, code: spec.code }] },
  };
  if (spec.value !== undefined) {
    o.valueQuantity = { value: spec.value };
    if (spec.unit !== null && spec.unit !== undefined) Object.assign(o.valueQuantity, { system: UCUM, code: spec.unit, unit: spec.unitText ?? spec.unit });
    else if (spec.unitText) o.valueQuantity.unit = spec.unitText;
  }
  if (spec.valueInteger !== undefined) o.valueInteger = spec.valueInteger;
  if (spec.effective) o.effectiveDateTime = spec.effective;
  if (spec.issued) o.issued = spec.issued;
  if (spec.interpretation) {
    o.interpretation = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: spec.interpretation }] }];
  }
  return o;
}

export function patient(birthDate?: string): Patient {
  return { resourceType: 'Patient', id: 'p1', ...(birthDate ? { birthDate } : {}) };
}

export function medicationRequest(spec: {
  code: string;
  status?: MedicationRequest['status'];
  authoredOn?: string;
  supplyDays?: number;
  repeats?: number;
  validity?: { start?: string; end?: string };
}): MedicationRequest {
  const m: MedicationRequest = {
    resourceType: 'MedicationRequest',
    id: nextId('medreq'),
    status: spec.status ?? 'completed',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: spec.code }] },
  };
  if (spec.authoredOn) m.authoredOn = spec.authoredOn;
  if (spec.supplyDays !== undefined || spec.repeats !== undefined || spec.validity) {
    m.dispenseRequest = {};
    if (spec.supplyDays !== undefined) m.dispenseRequest.expectedSupplyDuration = { value: spec.supplyDays, unit: 'days', system: UCUM, code: 'd' };
    if (spec.repeats !== undefined) m.dispenseRequest.numberOfRepeatsAllowed = spec.repeats;
    if (spec.validity) m.dispenseRequest.validityPeriod = spec.validity;
  }
  return m;
}

export function medicationStatement(spec: { code: string; status?: MedicationStatement['status']; start?: string; end?: string }): MedicationStatement {
  const m: MedicationStatement = {
    resourceType: 'MedicationStatement',
    id: nextId('medstmt'),
    status: spec.status ?? 'completed',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: spec.code }] },
  };
  if (spec.start || spec.end) m.effectivePeriod = { ...(spec.start ? { start: spec.start } : {}), ...(spec.end ? { end: spec.end } : {}) };
  return m;
}

export function serviceRequest(code: string, authoredOn: string, status: ServiceRequest['status'] = 'active'): ServiceRequest {
  return { resourceType: 'ServiceRequest', id: nextId('sr'), status, intent: 'order', subject: { reference: 'Patient/p1' }, code: { coding: [{ system: SCT, code }] }, authoredOn };
}

export function procedure(code: string, performed: string): Procedure {
  return { resourceType: 'Procedure', id: nextId('proc'), status: 'completed', subject: { reference: 'Patient/p1' }, code: { coding: [{ system: SCT, code }] }, performedDateTime: performed };
}

export function recordOf(resources: FhirResource[], withPatient = true): PatientRecord {
  const all = withPatient && !resources.some((r) => r.resourceType === 'Patient') ? [patient('1970-01-01'), ...resources] : resources;
  return recordFromResources(all);
}

export async function evaluate(resources: FhirResource[], now: Date = NOW, withPatient = true): Promise<FindingsResult> {
  return evaluateFindings(await shippedMappings(), recordOf(resources, withPatient), now);
}

export async function stateOf(id: FindingId, resources: FhirResource[], now: Date = NOW): Promise<string> {
  return (await evaluate(resources, now)).findings[id].state;
}
