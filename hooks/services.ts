import { SPINE_PREFETCH } from './prefetch.js';
import type { CdsServiceDefinition } from './types.js';

/**
 * The CDS services this endpoint offers, declared in one place: discovery entry, prefetch and what
 * each advises on. They share one prefetch and one rule table (hooks/rules) and differ only in
 * `advisesOn`, so a service is a row of data, not a module.
 */
export const SERVICES: readonly CdsServiceDefinition[] = [
  {
    id: 'spine-cds-patient-view',
    hook: 'patient-view',
    title: 'Back pain with radiation: red flags and next steps',
    description:
      'On opening the chart of a patient with back pain radiating to an arm or a leg, checks for red flags ' +
      '(cauda equina, myelopathy, motor deficit, malignancy, infection) and recommends emergency referral, ' +
      'urgent MRI of the right region, ESR and CBC, or conservative care.',
    prefetch: SPINE_PREFETCH,
    // Draft orders play no part when a chart is opened.
    advisesOn: 'nothing',
  },
  {
    id: 'spine-cds-order-select',
    hook: 'order-select',
    title: 'Spine imaging appropriateness at order selection',
    description:
      'When a clinician selects spine imaging for back pain with radiation, warns if the order is low value ' +
      '(no red flags, under 6 weeks) and offers to withdraw it, or recommends the right urgent imaging when red flags are present. ' +
      'Advises on the selected orders only.',
    prefetch: SPINE_PREFETCH,
    // Hook Library 1.0.1: advise on the `selections`; every draft is still read to avoid suggesting a duplicate.
    advisesOn: 'selections',
  },
  {
    id: 'spine-cds-order-sign',
    hook: 'order-sign',
    title: 'Spine imaging appropriateness at order signing',
    description:
      'Before orders are signed, checks every draft spine imaging order against red flags and guideline timing, ' +
      'warns on low-value imaging with a one-click withdrawal, and recommends what is missing.',
    prefetch: SPINE_PREFETCH,
    advisesOn: 'all-draft-orders',
  },
];

export function findService(id: string): CdsServiceDefinition | undefined {
  return SERVICES.find((s) => s.id === id);
}
