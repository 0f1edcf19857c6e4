import type { PatientRecord } from './record.js';

/**
 * A prefetch template (CDS Hooks 2.0 §Prefetch), kept inside the recommended query subset.
 * `required` keys are the data the rules cannot judge without: if they can be had neither from
 * prefetch nor from the FHIR server the call is answered 412. Optional keys degrade to a DataGap
 * that the cards mention.
 */
export interface PrefetchTemplate {
  /** A PatientRecord list, or `examObservations` (exam Observations, merged into `observations`). */
  key: keyof Omit<PatientRecord, 'gaps'> | 'examObservations';
  query: string;
  required: boolean;
  /** Single-resource read (`Patient/{{context.patientId}}`) rather than a search. */
  read: boolean;
}
