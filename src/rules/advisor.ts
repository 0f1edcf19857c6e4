import type { FhirResource } from 'fhir/r4';
import type { CdsResponse } from '../cards/types.js';
import type { FindingsResult } from '../findings/types.js';
import type { CdsServiceDefinition, HookContext } from '../protocol/cds-service.js';
import type { PatientRecord } from '../data/record.js';

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

/** Turns one validated hook call into the CDS Hooks response: decision rules, then cards. */
export interface Advisor {
  advise(input: RuleInput): CdsResponse;
}
