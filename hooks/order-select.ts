import { SPINE_PREFETCH } from './prefetch.js';
import type { CdsServiceDefinition } from './types.js';

/**
 * order-select: when a clinician selects orders. Advises on the `selections` only (Hook Library
 * 1.0.1), though every draft order is read to avoid suggesting a duplicate.
 */
export const orderSelectService: CdsServiceDefinition = {
  id: 'spine-cds-order-select',
  hook: 'order-select',
  title: 'Spine imaging appropriateness at order selection',
  description:
    'When a clinician selects spine imaging for back pain with radiation, warns if the order is low value ' +
    '(no red flags, under 6 weeks) and offers to withdraw it, or recommends the right urgent imaging when red flags are present. ' +
    'Advises on the selected orders only.',
  prefetch: SPINE_PREFETCH,
  advisesOn: 'selections',
};
