import type { Bundle, FhirResource, Reference } from 'fhir/r4';

/**
 * Reference clean-up for loading third-party fixtures into any FHIR server with stable ids:
 * `urn:uuid:` references become `Type/id`, conditional references (`Practitioner?identifier=…`,
 * which a server resolves only if the target exists) become logical identifier references, and
 * references to resources the fixture does not contain become display-only, because HAPI enforces
 * referential integrity on write and would refuse the whole transaction.
 */

/** Calls `visit` on every object with a string `reference` inside `value` (in place). */
export function forEachReference(value: unknown, visit: (ref: Reference) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) forEachReference(item, visit);
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.reference === 'string') visit(obj as Reference);
    for (const [key, child] of Object.entries(obj)) {
      // Contained resources keep their own local (#id) references.
      if (key !== 'reference' && child && typeof child === 'object') forEachReference(child, visit);
    }
  }
}

/** `urn:uuid:…` (a transaction's fullUrl) -> `Type/id` of the resource behind it. */
export function urnTargets(bundle: Bundle): Map<string, string> {
  const targets = new Map<string, string>();
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (entry.fullUrl?.startsWith('urn:') && r) {
      targets.set(entry.fullUrl, `${r.resourceType}/${r.id ?? entry.fullUrl.slice(entry.fullUrl.lastIndexOf(':') + 1)}`);
    }
  }
  return targets;
}

/**
 * Rewrites the references of `resources` (in place) against the set of resources being loaded.
 * `urnMap` resolves `urn:uuid:` references; `Type/id` references to anything outside `resources`
 * become display-only. Local `#id` and absolute URLs are left alone.
 */
export function closeReferences(resources: FhirResource[], urnMap: ReadonlyMap<string, string> = new Map()): void {
  const present = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  for (const resource of resources) {
    forEachReference(resource, (ref) => {
      const reference = ref.reference as string;
      if (reference.startsWith('#') || /^https?:/.test(reference)) return;
      const resolved = urnMap.get(reference) ?? reference;
      const conditional = /^([A-Za-z]+)\?identifier=([^|&]*)\|([^&]+)$/.exec(resolved);
      if (conditional) {
        delete ref.reference;
        ref.type ??= conditional[1] as string;
        ref.identifier = { system: decodeURIComponent(conditional[2] as string), value: decodeURIComponent(conditional[3] as string) };
        return;
      }
      if (present.has(resolved)) {
        ref.reference = resolved;
        return;
      }
      delete ref.reference;
      ref.display ??= `${resolved} (not in this fixture)`;
    });
  }
}
