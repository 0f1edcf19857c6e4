import type { ServiceRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { buildHookRequest } from '../../kit/ehr/hook-request.js';
import { fillPrefetchTemplate } from '../../kit/ehr/prefetch.js';
import { formatCdsResponse } from '../../kit/ehr/print-cards.js';
import type { CdsResponse } from '../../src/cards/types.js';

describe('mock EHR (kit/ehr)', () => {
  it('fills prefetch tokens from the context, URL-encoded, and refuses a template it cannot fill', () => {
    const context = { patientId: 'p 1', userId: 'Practitioner/dr-1' };
    expect(fillPrefetchTemplate('Condition?patient={{context.patientId}}', context)).toBe('Condition?patient=p%201');
    expect(fillPrefetchTemplate('Practitioner/{{userPractitionerId}}', context)).toBe('Practitioner/dr-1');
    expect(fillPrefetchTemplate('Encounter/{{context.encounterId}}', context)).toBeUndefined();
    expect(fillPrefetchTemplate('PractitionerRole/{{userPractitionerRoleId}}', context)).toBeUndefined();
  });

  it('builds order-select with a draft order in draftOrders and a selection pointing at it', () => {
    const request = buildHookRequest({ hook: 'order-select', patientId: 'p1', fhirServer: 'http://f/fhir/', order: 'lumbar-mri' });
    const draft = (request.context.draftOrders as { entry: { resource: ServiceRequest }[] }).entry[0]?.resource;
    expect(request.fhirServer).toBe('http://f/fhir');
    expect(request.hookInstance).toMatch(/^[0-9a-f-]{36}$/);
    expect(request.context.selections).toEqual([`ServiceRequest/${draft?.id}`]);
    expect(draft).toMatchObject({ status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } });
    // CPT and LOINC of docs/clinical-rules.md (Orders) for MRI lumbar spine without contrast.
    expect(draft?.code?.coding?.map((c) => c.code)).toEqual(expect.arrayContaining(['72148', '30679-5']));
  });

  it('sends no selections on order-sign, no orders on patient-view, and fhirAuthorization only with a token', () => {
    const sign = buildHookRequest({ hook: 'order-sign', patientId: 'p1', fhirServer: 'http://f', order: 'cervical-mri', token: 't' });
    expect(sign.context).not.toHaveProperty('selections');
    expect(sign.fhirAuthorization).toMatchObject({ access_token: 't', token_type: 'Bearer', patient: 'p1' });
    const view = buildHookRequest({ hook: 'patient-view', patientId: 'p1', fhirServer: 'http://f' });
    expect(view.context).toEqual({ userId: 'Practitioner/spine-demo-clinician', patientId: 'p1' });
    expect(view).not.toHaveProperty('fhirAuthorization');
    expect(() => buildHookRequest({ hook: 'order-sign', patientId: 'p1', fhirServer: 'http://f' })).toThrow(/--order/);
  });

  it('prints each card with indicator, topic, evidence, and suggested orders with codes and priority', () => {
    const response: CdsResponse = {
      cards: [
        {
          uuid: 'c1',
          summary: 'Suspected cauda equina syndrome',
          indicator: 'critical',
          detail: '- **Urinary retention** (URET)\n  - Retention of urine, 2026-03-30',
          source: { label: 'Spine CDS', topic: { system: 'urn:topics', code: 'cauda-equina' } },
          selectionBehavior: 'any',
          suggestions: [
            {
              uuid: 's1',
              label: 'Order MRI lumbar spine',
              isRecommended: true,
              actions: [
                {
                  type: 'create',
                  description: 'MRI',
                  resource: {
                    resourceType: 'ServiceRequest',
                    status: 'draft',
                    intent: 'proposal',
                    priority: 'stat',
                    subject: { reference: 'Patient/p1' },
                    code: { text: 'MRI lumbar spine without contrast', coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '72148' }] },
                  } as ServiceRequest,
                },
                { type: 'delete', description: 'Withdraw the draft', resourceId: 'ServiceRequest/d1' },
              ],
            },
          ],
        },
      ],
    };
    const text = formatCdsResponse(response);
    expect(text).toContain('[CRITICAL] Suspected cauda equina syndrome');
    expect(text).toContain('topic: cauda-equina');
    expect(text).toContain('Urinary retention (URET)');
    expect(text).toContain('Retention of urine, 2026-03-30');
    expect(text).toMatch(/create ServiceRequest \[stat\] MRI lumbar spine without contrast \(CPT 72148\)/);
    expect(text).toContain('delete ServiceRequest/d1');
    expect(formatCdsResponse({ cards: [] })).toBe('No cards.');
  });
});
