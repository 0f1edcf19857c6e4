import type { FhirResource } from 'fhir/r4';
import { emptyRecord, type PatientRecord } from '../record.js';

/**
 * Sorts a flat list of FHIR resources into a PatientRecord. Resources of types the rules do not
 * read are ignored; duplicates (same type/id, as happens when prefetch pages overlap) are kept once.
 * When `patientId` is given, resources that reference another patient are dropped, so a shared
 * test bundle cannot leak one patient's data into another's judgement.
 */
export function recordFromResources(resources: readonly FhirResource[], patientId?: string): PatientRecord {
  const record = emptyRecord();
  const seen = new Set<string>();
  for (const resource of resources) {
    if (!resource || typeof resource !== 'object') continue;
    if (resource.id) {
      const key = `${resource.resourceType}/${resource.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    if (patientId && !belongsTo(resource, patientId)) continue;
    switch (resource.resourceType) {
      case 'Patient':
        record.patient ??= resource;
        break;
      case 'Condition':
        record.conditions.push(resource);
        break;
      case 'Observation':
        record.observations.push(resource);
        break;
      case 'MedicationStatement':
        record.medicationStatements.push(resource);
        break;
      case 'MedicationRequest':
        record.medicationRequests.push(resource);
        break;
      case 'ServiceRequest':
        record.serviceRequests.push(resource);
        break;
      case 'Procedure':
        record.procedures.push(resource);
        break;
      default:
        break;
    }
  }
  return record;
}

function belongsTo(resource: FhirResource, patientId: string): boolean {
  if (resource.resourceType === 'Patient') return resource.id === undefined || resource.id === patientId;
  const subject = (resource as { subject?: { reference?: string } }).subject?.reference;
  if (typeof subject !== 'string') return true;
  return subject === `Patient/${patientId}` || subject.endsWith(`/Patient/${patientId}`) || subject === patientId;
}
