import type {
  Condition,
  DiagnosticReport,
  ImagingStudy,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Procedure,
  ServiceRequest,
} from 'fhir/r4';

/**
 * The patient's data as the rules see it, after prefetch and FHIR-server resolution.
 * Every list is already de-duplicated by `resourceType/id` and may be empty; an empty list
 * means "the EHR says there is none", never "we could not get it" (that is a 412, or a
 * DataGap for optional keys).
 */
export interface PatientRecord {
  /** `undefined` when the EHR answered `null` for the Patient read. */
  patient: Patient | undefined;
  conditions: Condition[];
  observations: Observation[];
  medicationStatements: MedicationStatement[];
  medicationRequests: MedicationRequest[];
  /** Existing orders/referrals (physiotherapy, recent imaging, labs) for TRIAL and duplicate checks. */
  serviceRequests: ServiceRequest[];
  procedures: Procedure[];
  /** Imaging already done (reports and studies, incl. outside centres) for the imaging duplicate checks. */
  diagnosticReports: DiagnosticReport[];
  imagingStudies: ImagingStudy[];
  /** Optional data that could not be retrieved; the cards say so instead of guessing. */
  gaps: DataGap[];
}

export interface DataGap {
  /** Prefetch key, e.g. `procedures`. */
  key: string;
  reason: string;
  /** Set when a work bound of this service (not the EHR) left data out: shown even when no rule fires. */
  bounded?: true;
}

export function emptyRecord(): PatientRecord {
  return {
    patient: undefined,
    conditions: [],
    observations: [],
    medicationStatements: [],
    medicationRequests: [],
    serviceRequests: [],
    procedures: [],
    diagnosticReports: [],
    imagingStudies: [],
    gaps: [],
  };
}
