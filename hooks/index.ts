import type { ClinicalContent } from '../src/protocol/cds-service.js';
import { createAdvisor } from './advise.js';
import { SERVICES } from './services.js';
import { ruleSettingsFromEnv, type RuleSettings } from './settings.js';

/**
 * Back pain radiating to a limb, as content the engine serves: the three CDS services and the
 * decision rules behind them. The process entry (src/main.ts) plugs it into the engine.
 */
export const SPINE_CDS: ClinicalContent<RuleSettings> = { services: SERVICES, ruleSettingsFromEnv, createAdvisor };
