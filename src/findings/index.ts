import type { MappingSet } from './loader.js';

export { MappingLoadError } from './errors.js';
export { evaluateFindings } from './evaluate.js';
export { loadMappings, type LoadedDefinition, type MappingSet } from './loader.js';
export type { CompiledValueSet } from './valueset.js';
export * from './types.js';

/** The Observation codes the mappings read; hooks/prefetch.ts OBSERVATION_LOINC must cover them. */
export function observationCodes(mappings: MappingSet): { system: string; code: string }[] {
  const refs = new Set<string>();
  for (const def of mappings.definitions) {
    for (const c of def.criteria) {
      if ((c.kind === 'measurement' || c.kind === 'weight-change' || c.kind === 'coded') && c.resource === 'Observation') refs.add(c.valueSet);
    }
  }
  const out = new Map<string, { system: string; code: string }>();
  for (const ref of refs) {
    for (const { system, code } of mappings.valueSets.get(ref)?.enumerated() ?? []) out.set(`${system}|${code}`, { system, code });
  }
  return [...out.values()];
}
