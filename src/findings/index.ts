import { observationCodesOf, type MappingSet } from './loader.js';

export { KnowledgeFileError, MappingLoadError } from './errors.js';
export { evaluateFindings } from './evaluate.js';
export { defaultMappingsDir, loadMappings, observationCodesInFolder, type LoadedDefinition, type MappingSet } from './loader.js';
export type { CompiledValueSet } from './valueset.js';
export * from './types.js';

/** The Observation codes the mappings read; hooks/prefetch.ts derives its Observation search from them. */
export function observationCodes(mappings: MappingSet): { system: string; code: string }[] {
  return observationCodesOf(mappings.definitions, mappings.valueSets).map(({ system, code }) => ({ system, code }));
}
