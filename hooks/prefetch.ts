import type { PrefetchTemplate } from './types.js';

/**
 * The prefetch the decision rules need, and nothing more (CDS Hooks 2.0 §Prefetch; checklist §2).
 * Every query stays inside the recommended subset: reads, type searches, reference and token
 * parameters (comma = OR), `_sort` and `_count`. Date windows cannot be expressed with 2.0 tokens
 * (there is no "today" token and a fixed date goes stale), so searches are bounded by code or
 * category and count, sorted newest first; the resolver caps paging, and each finding applies its own
 * date window. docs/data.md lists the US Core search each template relies on.
 *
 * OBSERVATION_LOINC must cover every LOINC code an Observation finding in mappings/ reads
 * (test/findings/loader.test.ts checks it) plus the lab panels a duplicate check needs.
 */
export const OBSERVATION_LOINC = [
  '8310-5', // body temperature (FEVER)
  '8331-1', // oral temperature (FEVER)
  '8328-7', // axillary temperature (FEVER)
  '8332-9', // rectal temperature (FEVER)
  '8333-7', // tympanic membrane temperature (FEVER)
  '4537-7', // ESR Westergren (ESR)
  '30341-2', // ESR any method (ESR)
  '1988-5', // CRP (CRP)
  '30522-7', // hs-CRP (CRP; measures the same analyte)
  '29463-7', // body weight (WTLOSS)
  '72514-3', // pain severity 0-10 (PAIN)
  '58410-2', // CBC panel (duplicate-order check)
  '57021-8', // CBC with differential (duplicate-order check)
  '48545-0', // post-void residual bladder volume by ultrasound (URET; unverified code, see urinary-retention-pvr.json)
  // Mimickers (docs/mimickers.md): the labs their rows read.
  '48065-7', // D-dimer FEU (DDIMER)
  '48066-5', // D-dimer DDU (DDIMER)
  '718-7', // haemoglobin (ANAEMIA, myeloma screen)
  '17861-6', // calcium (HYPERCA, myeloma screen)
  '2160-0', // creatinine (RENAL, myeloma screen)
  '2885-2', // total protein (HIPROT, myeloma screen)
  '4548-4', // HbA1c (HBA1C, neuropathy work-up)
  '2132-9', // vitamin B12 (B12, neuropathy work-up)
  '72166-2', // tobacco smoking status (VASCRISK, possible AAA)
] as const;

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
    query: `Observation?patient=${patientToken}&code=${OBSERVATION_LOINC.map((c) => `http://loinc.org|${c}`).join(',')}&_sort=-date&_count=100`,
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
