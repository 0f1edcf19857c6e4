import { SPINE_PREFETCH } from './prefetch.js';
import type { CdsServiceDefinition } from './types.js';

/**
 * order-sign: before orders are signed. Advises on every order in `draftOrders`.
 */
export const orderSignService: CdsServiceDefinition = {
  id: 'spine-cds-order-sign',
  hook: 'order-sign',
  title: 'Spine imaging appropriateness at order signing',
  description:
    'Before orders are signed, checks every draft spine imaging order against red flags and guideline timing, ' +
    'warns on low-value imaging with a one-click withdrawal, and recommends what is missing.',
  prefetch: SPINE_PREFETCH,
  advisesOn: 'all-draft-orders',
};
