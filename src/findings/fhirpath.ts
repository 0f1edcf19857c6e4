import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';

/** A FHIRPath expression compiled once at load against the R4 model. */
export type CompiledExpression = (resource: unknown) => unknown[];

/** Throws the engine's parse error; the loader turns it into a MappingLoadError. */
export function compileExpression(source: string): CompiledExpression {
  const fn = fhirpath.compile(source, r4) as (resource: unknown) => unknown;
  return (resource) => {
    const out = fn(resource);
    return Array.isArray(out) ? out : [];
  };
}
