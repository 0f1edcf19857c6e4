import type { Bundle, CodeableConcept, FhirResource } from 'fhir/r4';

/**
 * In-memory STU3 -> R4 conversion of the shapes found in test/fixtures/external/
 * smart-sample-patients-stu3 (its README, "STU3 -> R4 differences"). Without it an R4 server
 * stores the plain-code statuses, and R4 searches such as `Condition?clinical-status=active` find
 * nothing. Pure: the input is never mutated, and R4-shaped input passes through unchanged, so
 * converting twice is harmless. Anything not listed below is copied as is.
 */

export const TERMINOLOGY = 'http://terminology.hl7.org/CodeSystem';
const STU3_OBSERVATION_CATEGORY = 'http://hl7.org/fhir/observation-category';

type Json = Record<string, unknown>;

export function stu3ResourceToR4(resource: unknown): FhirResource {
  const r = structuredClone(resource) as Json;
  switch (r.resourceType) {
    case 'Condition':
      statusToConcept(r, 'clinicalStatus', `${TERMINOLOGY}/condition-clinical`);
      // R4 condition-ver-status has no `unknown`; `unconfirmed` is its nearest meaning.
      statusToConcept(r, 'verificationStatus', `${TERMINOLOGY}/condition-ver-status`, { unknown: 'unconfirmed' });
      rename(r, 'assertedDate', 'recordedDate');
      rename(r, 'context', 'encounter');
      break;
    case 'AllergyIntolerance':
      statusToConcept(r, 'clinicalStatus', `${TERMINOLOGY}/allergyintolerance-clinical`);
      statusToConcept(r, 'verificationStatus', `${TERMINOLOGY}/allergyintolerance-verification`);
      rename(r, 'assertedDate', 'recordedDate');
      break;
    case 'Observation':
      rename(r, 'context', 'encounter');
      if (Array.isArray(r.category)) {
        for (const concept of r.category as CodeableConcept[]) {
          for (const coding of concept.coding ?? []) {
            if (coding.system === STU3_OBSERVATION_CATEGORY) coding.system = `${TERMINOLOGY}/observation-category`;
          }
        }
      }
      break;
    case 'Immunization':
      rename(r, 'date', 'occurrenceDateTime');
      if ('notGiven' in r) {
        // STU3 notGiven=true is R4 status `not-done`; false adds nothing to status `completed`.
        if (r.notGiven === true) r.status = 'not-done';
        delete r.notGiven;
      }
      break;
    default:
      break;
  }
  return r as unknown as FhirResource;
}

/** Converts every entry's resource; the bundle's own shape is the same in STU3 and R4. */
export function stu3BundleToR4(bundle: Bundle): Bundle {
  return {
    ...bundle,
    entry: bundle.entry?.map((e) => (e.resource ? { ...e, resource: stu3ResourceToR4(e.resource) } : e)),
  };
}

function statusToConcept(r: Json, field: string, system: string, recode: Record<string, string> = {}): void {
  const value = r[field];
  if (typeof value !== 'string') return;
  const code = recode[value] ?? value;
  r[field] = { coding: [{ system, code }] } satisfies CodeableConcept;
}

function rename(r: Json, from: string, to: string): void {
  if (!(from in r)) return;
  if (!(to in r)) r[to] = r[from];
  delete r[from];
}
