import type { Bundle } from 'fhir/r4';
import type { PrefetchTemplate } from '../data/prefetch-template.js';
import type { Advisor } from '../rules/advisor.js';

export type HookName = 'patient-view' | 'order-select' | 'order-sign';

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

/**
 * The clinical content the engine serves: the CDS services and the decision rules behind them
 * (hooks/index.ts). The engine never imports hooks/; the process entry (src/main.ts) and the tests
 * hand this in, so imports run one way, from hooks/ to src/.
 *
 * `Settings` is opaque to the engine: the content reads its own settings from the environment
 * (throwing with the variable's name) and gets them back when it builds its advisor.
 */
export interface ClinicalContent<Settings = unknown> {
  services: readonly CdsServiceDefinition[];
  ruleSettingsFromEnv(env: Record<string, string | undefined>): Settings;
  createAdvisor(opts: { mappingsDir: string; settings: Settings }): Promise<Advisor>;
}
