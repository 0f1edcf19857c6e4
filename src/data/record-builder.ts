import type { FhirResource } from 'fhir/r4';
import { emptyRecord, type PatientRecord } from './record.js';

/**
 * Sorts a flat list of FHIR resources into a PatientRecord. Resources of types the rules do not
 * read are ignored; duplicates (same type/id, as happens when prefetch pages overlap) are kept once.
 * When `patientId` is given, resources that reference another patient are dropped, so a shared
 * test bundle cannot leak one patient's data into another's judgement.
 */
export function recordFromResources(resources: readonly FhirResource[], patientId?: string): PatientRecord {
  const record = emptyRecord();
  // Ids seen per resource type: a Set per type avoids building a "Type/id" string for every resource.
  const seen = new Map<string, Set<string>>();
  const owner = patientId ? patientMatcher(patientId) : undefined;
  for (const resource of resources) {
    if (!resource || typeof resource !== 'object') continue;
    if (resource.id) {
      let ids = seen.get(resource.resourceType);
      if (!ids) seen.set(resource.resourceType, (ids = new Set()));
      if (ids.has(resource.id)) continue;
      ids.add(resource.id);
    }
    if (owner && !owner(resource)) continue;
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
      case 'DiagnosticReport':
        record.diagnosticReports.push(resource);
        break;
      case 'ImagingStudy':
        record.imagingStudies.push(resource);
        break;
      default:
        break;
    }
  }
  return record;
}

/** Whether a resource is the patient's own (or says nothing about whose it is). */
function patientMatcher(patientId: string): (resource: FhirResource) => boolean {
  const relative = `Patient/${patientId}`;
  const absoluteTail = `/${relative}`;
  return (resource) => {
    if (resource.resourceType === 'Patient') return resource.id === undefined || resource.id === patientId;
    const subject = (resource as { subject?: { reference?: string } }).subject?.reference;
    if (typeof subject !== 'string') return true;
    return subject === relative || subject.endsWith(absoluteTail) || subject === patientId;
  };
}
