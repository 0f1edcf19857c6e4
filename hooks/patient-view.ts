import { SPINE_PREFETCH } from './prefetch.js';
import type { CdsServiceDefinition } from './types.js';

/**
 * patient-view: when a clinician opens the chart. Advises on the patient only (red flags, next
 * steps); draft orders play no part. Rules: the shared table in ./rules (keyed by card topic).
 */
export const patientViewService: CdsServiceDefinition = {
  id: 'spine-cds-patient-view',
  hook: 'patient-view',
  title: 'Back pain with radiation: red flags and next steps',
  description:
    'On opening the chart of a patient with back pain radiating to an arm or a leg, checks for red flags ' +
    '(cauda equina, myelopathy, motor deficit, malignancy, infection) and recommends emergency referral, ' +
    'urgent MRI of the right region, ESR and CBC, or conservative care.',
  prefetch: SPINE_PREFETCH,
  advisesOn: 'nothing',
};
