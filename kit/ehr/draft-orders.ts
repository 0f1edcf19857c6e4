import { randomUUID } from 'node:crypto';
import type { Coding, ServiceRequest } from 'fhir/r4';
import type { DemoOrderKey } from '../demo-patients/index.js';

/**
 * The draft imaging orders a mock EHR can place (`fire --order`), coded as an EHR would send them:
 * CPT plus LOINC, as in the order catalog (mappings/), SNOMED where one was verified.
 */
const CPT = 'http://www.ama-assn.org/go/cpt';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

export const DRAFT_ORDER_CODES: Record<DemoOrderKey, { text: string; coding: Coding[] }> = {
  'lumbar-mri': {
    text: 'MRI lumbar spine without contrast',
    coding: [
      { system: CPT, code: '72148' },
      { system: LOINC, code: '30679-5', display: 'MR Lumbar spine WO contrast' },
      { system: SNOMED, code: '241648005', display: 'MRI of lumbar spine' },
    ],
  },
  'cervical-mri': {
    text: 'MRI cervical spine without contrast',
    coding: [
      { system: CPT, code: '72141' },
      { system: LOINC, code: '30667-0', display: 'MR Cervical spine WO contrast' },
      { system: SNOMED, code: '241646009', display: 'MRI of cervical spine' },
    ],
  },
  'lumbar-xray': {
    text: 'X-ray lumbar spine, 2-3 views',
    coding: [
      { system: CPT, code: '72100' },
      { system: LOINC, code: '24970-6', display: 'XR Lumbar spine AP and lateral' },
    ],
  },
};

/** An unsigned imaging order as it sits in the EHR's ordering workflow (status draft). */
export function draftServiceRequest(order: DemoOrderKey, patientId: string, requester: string, now = new Date()): ServiceRequest {
  const codes = DRAFT_ORDER_CODES[order];
  return {
    resourceType: 'ServiceRequest',
    id: `draft-${order}-${randomUUID().slice(0, 8)}`,
    status: 'draft',
    intent: 'order',
    category: [{ coding: [{ system: SNOMED, code: '363679005', display: 'Imaging' }] }],
    code: { coding: codes.coding, text: codes.text },
    subject: { reference: `Patient/${patientId}` },
    authoredOn: now.toISOString(),
    requester: { reference: requester },
  };
}
