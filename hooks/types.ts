// The contract between the engine and this content is owned by the engine (src/); it is re-exported
// here so the rules read their input types from one place beside them.
export type { PrefetchTemplate } from '../src/data/prefetch-template.js';
export type { CdsServiceDefinition, HookContext, HookName } from '../src/protocol/cds-service.js';
export type { Advisor, RuleInput } from '../src/rules/advisor.js';

