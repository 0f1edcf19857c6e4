import { defaultMappingsDir, observationCodesInFolder } from '../src/findings/files.js';
import { labResultLoincInFolder } from './rules/knowledge.js';
import type { PrefetchTemplate } from './types.js';

/**
 * The prefetch the decision rules need, and nothing more (CDS Hooks 2.0 §Prefetch; checklist §2).
 * Every query stays inside the recommended subset: reads, type searches, reference and token
 * parameters (comma = OR), `_sort` and `_count`. Date windows cannot be expressed with 2.0 tokens
 * (there is no "today" token and a fixed date goes stale), so searches are bounded by code or
 * category and count, sorted newest first; the resolver caps paging, and each finding applies its own
 * date window. docs/data.md lists the US Core search each template relies on.
 */

const LOINC = 'http://loinc.org';

/**
 * The LOINC codes the Observation search asks for, derived from the knowledge rather than kept beside
 * it: every LOINC code of the value sets an Observation finding reads by code (mappings/findings and
 * mappings/valuesets: temperatures, ESR, CRP, weight, pain score, the mimickers' labs...), then the
 * result codes of the lab orders the duplicate check looks for (mappings/orders/catalog.yaml: the CBC
 * panels). Adding a code to a value set adds it to the search; the two cannot disagree. Read from the
 * shipped mappings when this module is first imported; a broken file stops the import with a
 * KnowledgeFileError naming it.
 */
export const OBSERVATION_LOINC: readonly string[] = Object.freeze(derivedObservationLoinc(defaultMappingsDir()));

export function derivedObservationLoinc(mappingsDir: string): string[] {
  const fromFindings = observationCodesInFolder(mappingsDir)
    .filter((c) => c.system === LOINC)
    .map((c) => c.code);
  return [...new Set([...fromFindings, ...labResultLoincInFolder(mappingsDir)])];
}

/** Observation categories the exam key asks for (US Core: patient+category is a SHALL search). */
const EXAM_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category|exam';
/** Imaging report categories: US Core's LOINC Radiology, and HL7 v2 RAD that many EHRs still send. */
const RADIOLOGY_CATEGORY = 'http://loinc.org|LP29684-5,http://terminology.hl7.org/CodeSystem/v2-0074|RAD';

const patientToken = '{{context.patientId}}';

export const SPINE_PREFETCH: PrefetchTemplate[] = [
  { key: 'patient', query: `Patient/${patientToken}`, required: true, read: true },
  // Unfiltered by clinical-status on purpose: cancer counts at any status, and a resolved spinal
  // infection within 12 months still counts (docs/clinical-rules.md (Findings)).
  { key: 'conditions', query: `Condition?patient=${patientToken}`, required: true, read: false },
  {
    key: 'observations',
    query: `Observation?patient=${patientToken}&code=${OBSERVATION_LOINC.map((c) => `${LOINC}|${c}`).join(',')}&_sort=-date&_count=100`,
    required: true,
    read: false,
  },
  // US Core requires patient+intent (not patient alone); every intent but proposal and option is a
  // medication the patient was given or reported taking.
  { key: 'medicationRequests', query: `MedicationRequest?patient=${patientToken}&intent=order,plan,original-order,reflex-order,filler-order,instance-order`, required: false, read: false },
  { key: 'medicationStatements', query: `MedicationStatement?patient=${patientToken}`, required: false, read: false },
  // Examination findings (foot drop, saddle anaesthesia, Babinski, muscle strength, straight-leg raise):
  // exam Observations carry SNOMED CT findings no code list can enumerate, so they are asked for by
  // category. Optional: without them the cards say the examination could not be read.
  { key: 'examObservations', query: `Observation?patient=${patientToken}&category=${EXAM_CATEGORY}&_sort=-date&_count=100`, required: false, read: false },
  { key: 'serviceRequests', query: `ServiceRequest?patient=${patientToken}&_sort=-authored&_count=50`, required: false, read: false },
  // Prior lumbar surgery counts at any date, so procedures are bounded by count only (newest first).
  { key: 'procedures', query: `Procedure?patient=${patientToken}&_sort=-date&_count=100`, required: false, read: false },
  // Spine imaging already done, reported here or at an outside centre (duplicate checks).
  { key: 'diagnosticReports', query: `DiagnosticReport?patient=${patientToken}&category=${RADIOLOGY_CATEGORY}&_sort=-date&_count=50`, required: false, read: false },
  { key: 'imagingStudies', query: `ImagingStudy?patient=${patientToken}&_sort=-started&_count=50`, required: false, read: false },
];
