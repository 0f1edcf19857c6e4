import { randomUUID } from 'node:crypto';
import type { Bundle, FhirResource } from 'fhir/r4';

/** A searchset Bundle as an EHR would prefetch it. */
export function searchset(resources: FhirResource[] = [], next?: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    ...(next ? { link: [{ relation: 'next', url: next }] } : {}),
    ...(resources.length > 0 ? { entry: resources.map((resource) => ({ resource, search: { mode: 'match' as const } })) } : {}),
  };
}

export function patient(id = 'p1', birthDate = '1980-05-01'): FhirResource {
  return { resourceType: 'Patient', id, birthDate, gender: 'female' };
}

/** A complete prefetch for every key of hooks/prefetch.ts, empty unless given. */
export function fullPrefetch(overrides: Record<string, unknown> = {}, patientId = 'p1'): Record<string, unknown> {
  return {
    patient: patient(patientId),
    conditions: searchset(),
    observations: searchset(),
    medicationRequests: searchset(),
    medicationStatements: searchset(),
    serviceRequests: searchset(),
    procedures: searchset(),
    examObservations: searchset(),
    diagnosticReports: searchset(),
    imagingStudies: searchset(),
    ...overrides,
  };
}

export function patientViewRequest(extra: Record<string, unknown> = {}, patientId = 'p1'): Record<string, unknown> {
  return {
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/dr-1', patientId },
    prefetch: fullPrefetch({}, patientId),
    ...extra,
  };
}

export function draftImagingOrder(id = 'draft-mri-1', patientId = 'p1'): FhirResource {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'draft',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    code: {
      coding: [
        { system: 'http://www.ama-assn.org/go/cpt', code: '72148', display: 'MRI lumbar spine without contrast' },
        { system: 'http://loinc.org', code: '30679-5', display: 'MR Lumbar spine WO contrast' },
      ],
    },
  };
}

export function orderRequest(hook: 'order-select' | 'order-sign', extra: Record<string, unknown> = {}, patientId = 'p1'): Record<string, unknown> {
  const order = draftImagingOrder('draft-mri-1', patientId);
  return {
    hook,
    hookInstance: randomUUID(),
    context: {
      userId: 'Practitioner/dr-1',
      patientId,
      ...(hook === 'order-select' ? { selections: ['ServiceRequest/draft-mri-1'] } : {}),
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order }] },
    },
    prefetch: fullPrefetch({}, patientId),
    ...extra,
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text: the assertion will show it
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
