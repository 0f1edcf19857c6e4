import type { FhirResource } from 'fhir/r4';
import { recordFromResources } from '../data/record-builder.js';
import type { ClinicalContent } from '../protocol/cds-service.js';
import type { Knowledge } from './knowledge.js';

/**
 * One evaluation of a made-up record before the service says it is ready. The first call after a
 * start compiles the findings' FHIRPath expressions and name patterns and runs the rules' code for
 * the first time: about 80 ms of one event-loop turn where a warm call takes 2 ms (issue 14: no
 * request should hold the loop much over 100 ms). The record is generic (every resource type the
 * findings read, coded and worded, with the Observation codes the load found the mappings read), so
 * no clinical content lives here; nothing is stored, logged or counted.
 */
export function warmUp(knowledge: Knowledge, content: ClinicalContent, observationCodes: readonly { system: string; code: string }[]): void {
  const patient = 'warm-up';
  const subject = { reference: `Patient/${patient}` };
  const when = new Date().toISOString();
  const words = { coding: [{ system: 'http://snomed.info/sct', code: '0', display: 'warm-up entry of no clinical meaning' }], text: 'warm-up entry of no clinical meaning' };
  const observations = observationCodes.map(
    (c, i): FhirResource => ({
      resourceType: 'Observation',
      id: `o${i}`,
      status: 'final',
      code: { coding: [{ system: c.system, code: c.code }] },
      subject,
      effectiveDateTime: when,
      valueQuantity: { value: 1, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    }),
  );
  const resources: FhirResource[] = [
    { resourceType: 'Patient', id: patient, birthDate: '1970-01-01' },
    { resourceType: 'Condition', id: 'c', subject, code: words, onsetDateTime: when, bodySite: [words] },
    { resourceType: 'Observation', id: 'x', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam' }] }], code: words, subject, effectiveDateTime: when, valueCodeableConcept: words },
    { resourceType: 'MedicationRequest', id: 'm', status: 'active', intent: 'order', subject, medicationCodeableConcept: words, authoredOn: when },
    { resourceType: 'Procedure', id: 'p', status: 'completed', subject, code: words, performedDateTime: when },
    { resourceType: 'DiagnosticReport', id: 'd', status: 'final', code: words, subject, effectiveDateTime: when },
    ...observations,
  ];
  const record = recordFromResources(resources, patient);
  const now = new Date();
  const findings = knowledge.evaluate(record, now);
  const service = content.services[0];
  if (!service) return;
  knowledge.advisor.advise({ service, context: { patientId: patient, userId: 'Practitioner/warm-up' }, ordersUnderReview: [], allDraftOrders: [], record, findings, now });
}
