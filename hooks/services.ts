import { orderSelectService } from './order-select.js';
import { orderSignService } from './order-sign.js';
import { patientViewService } from './patient-view.js';
import type { CdsServiceDefinition } from './types.js';

/**
 * The CDS services this endpoint offers, one module each (hooks/<hook>.ts: discovery entry, prefetch,
 * what it advises on). They share one rule table (hooks/rules) and differ only in `advisesOn`.
 */
export const SERVICES: readonly CdsServiceDefinition[] = [patientViewService, orderSelectService, orderSignService];

export function findService(id: string): CdsServiceDefinition | undefined {
  return SERVICES.find((s) => s.id === id);
}
