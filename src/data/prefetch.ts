import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4';
import type { PrefetchTemplate } from './prefetch-template.js';

/**
 * What the EHR sent for one prefetch key. CDS Hooks 2.0.1 gives the cases distinct meanings:
 * - missing: not provided (or failed); the service must fetch it itself;
 * - null: the EHR looked and there is no data (a read that found nothing);
 * - an empty searchset Bundle: the search ran and matched nothing;
 * - an OperationOutcome: the EHR's prefetch query failed; fetch it ourselves.
 */
export type PrefetchValue =
  | { kind: 'missing' }
  | { kind: 'null' }
  | { kind: 'outcome'; outcome: OperationOutcome }
  | { kind: 'resources'; resources: FhirResource[]; next: string | undefined }
  | { kind: 'unusable'; reason: string };

export function classifyPrefetch(template: PrefetchTemplate, prefetch: Record<string, unknown> | undefined): PrefetchValue {
  if (!prefetch || !Object.prototype.hasOwnProperty.call(prefetch, template.key)) return { kind: 'missing' };
  return classifyFhirValue(template, prefetch[template.key]);
}

/** Classifies a prefetch value or a FHIR-server response body the same way. */
export function classifyFhirValue(template: PrefetchTemplate, value: unknown): PrefetchValue {
  if (value === null) return { kind: 'null' };
  if (!isResource(value)) return { kind: 'unusable', reason: 'not a FHIR resource' };
  if (value.resourceType === 'OperationOutcome') return { kind: 'outcome', outcome: value as OperationOutcome };
  if (template.read) {
    const expected = template.query.split('/')[0];
    if (value.resourceType !== expected) {
      return { kind: 'unusable', reason: `expected ${expected}, got ${value.resourceType}` };
    }
    return { kind: 'resources', resources: [value as FhirResource], next: undefined };
  }
  if (value.resourceType !== 'Bundle') return { kind: 'unusable', reason: `expected a searchset Bundle, got ${value.resourceType}` };
  const bundle = value as Bundle;
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  const resources: FhirResource[] = [];
  for (const entry of entries) {
    const resource = entry && typeof entry === 'object' ? entry.resource : undefined;
    // Search outcome entries (search.mode=outcome) carry warnings, not patient data.
    if (!isResource(resource) || resource.resourceType === 'OperationOutcome') continue;
    resources.push(resource as FhirResource);
  }
  const links = Array.isArray(bundle.link) ? bundle.link : [];
  const next = links.find((l) => l && l.relation === 'next' && typeof l.url === 'string')?.url;
  return { kind: 'resources', resources, next };
}

function isResource(value: unknown): value is { resourceType: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { resourceType?: unknown }).resourceType === 'string'
  );
}

/**
 * Fills `{{context.X}}` tokens. Values are URL-encoded; a template that needs a context field the
 * request lacks cannot be executed (returns undefined).
 */
export function renderTemplate(query: string, context: Record<string, unknown>): string | undefined {
  let missing = false;
  const rendered = query.replace(/\{\{\s*context\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, name: string) => {
    const v = context[name];
    if (typeof v !== 'string' || v === '') {
      missing = true;
      return '';
    }
    return encodeURIComponent(v);
  });
  return missing ? undefined : rendered;
}
