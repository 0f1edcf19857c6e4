import type { Bundle, FhirResource } from 'fhir/r4';
import type { FindingsResult } from '../src/findings/types.js';
import type { PatientRecord } from '../src/record.js';

export type HookName = 'patient-view' | 'order-select' | 'order-sign';

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

/** One CDS service, declared in one place: its discovery entry, its prefetch and what it advises on. */
export interface CdsServiceDefinition {
  id: string;
  hook: HookName;
  title: string;
  description: string;
  prefetch: PrefetchTemplate[];
  /**
   * Which draft orders the service judges: none (patient-view), the `selections` (order-select),
   * or every draft order (order-sign).
   */
  advisesOn: 'nothing' | 'selections' | 'all-draft-orders';
}

/** The hook context as validated by src/protocol (tolerates unknown fields). */
export interface HookContext {
  userId: string;
  patientId: string;
  encounterId?: string;
  selections?: string[];
  draftOrders?: Bundle;
  [extra: string]: unknown;
}

/** Everything a decision rule may read. Pure data; rules do no I/O. */
export interface RuleInput {
  service: CdsServiceDefinition;
  context: HookContext;
  /** The draft orders this service advises on (selections for order-select, all for order-sign). */
  ordersUnderReview: FhirResource[];
  /** Every draft order in context, to avoid suggesting a duplicate. */
  allDraftOrders: FhirResource[];
  record: PatientRecord;
  findings: FindingsResult;
  now: Date;
}
