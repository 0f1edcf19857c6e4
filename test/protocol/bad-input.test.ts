import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { orderRequest, patientViewRequest, postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

let svc: RunningService;
const BODY_LIMIT = 64 * 1024;
beforeAll(async () => {
  svc = await startService({ BODY_LIMIT_BYTES: String(BODY_LIMIT) });
});
afterAll(async () => {
  await svc.close();
});

const url = (id = 'spine-cds-patient-view') => `${svc.baseUrl}/cds-services/${id}`;

function expectOperationOutcome(body: unknown): void {
  expect(body).toMatchObject({ resourceType: 'OperationOutcome', issue: expect.any(Array) });
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

describe('bad input gets a clear 4xx with a JSON body', () => {
  const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, number]> = [
    ['a non-JSON body', () => postJson(url(), '{"hook": "patient-view", oops'), 400],
    ['a JSON array', () => postJson(url(), [patientViewRequest()]), 400],
    ['a JSON string', () => postJson(url(), '"patient-view"'), 400],
    ['an empty body', () => postJson(url(), ''), 400],
    ['missing hook', () => postJson(url(), { ...patientViewRequest(), hook: undefined }), 400],
    ['missing hookInstance', () => postJson(url(), { ...patientViewRequest(), hookInstance: undefined }), 400],
    ['missing context', () => postJson(url(), { ...patientViewRequest(), context: undefined }), 400],
    ['context of the wrong type', () => postJson(url(), { ...patientViewRequest(), context: 'Patient/1' }), 400],
    ['a hook that does not match the service', () => postJson(url(), { ...patientViewRequest(), hook: 'order-sign' }), 400],
    ['order-select without draftOrders', () => postJson(url('spine-cds-order-select'), { ...orderRequest('order-select'), context: { userId: 'Practitioner/1', patientId: 'p1', selections: [] } }), 400],
    ['a patientId that would inject query parameters', () => postJson(url(), patientViewRequest({ context: { userId: 'Practitioner/1', patientId: 'p1&_include=*' } })), 400],
    ['a userId of a type the hook does not allow', () => postJson(url('spine-cds-order-sign'), { ...orderRequest('order-sign'), context: { ...(orderRequest('order-sign').context as object), userId: 'Device/1' } }), 400],
    ['fhirAuthorization without fhirServer', () => postJson(url(), patientViewRequest({ fhirAuthorization: { access_token: 'x', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'cds' } })), 400],
    ['an unknown service id', () => postJson(url('no-such-service'), patientViewRequest()), 404],
    ['a service id longer than the router accepts', () => postJson(url('x'.repeat(300)), patientViewRequest()), 414],
    ['a body over the configured limit', () => postJson(url(), patientViewRequest({ padding: 'x'.repeat(BODY_LIMIT + 10) })), 413],
    ['pathological nesting', () => postJson(url(), `{"hook":"patient-view","deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`), 400],
    ['prototype poisoning', () => postJson(url(), '{"hook":"patient-view","__proto__":{"polluted":true}}'), 400],
    ['an unsupported content type', async () => {
      const res = await fetch(url(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      return { status: res.status, body: await res.json() };
    }, 415],
  ];

  it.each(cases)('%s', async (_name, send, expected) => {
    const { status, body } = await send();
    expect(status).toBe(expected);
    expectOperationOutcome(body);
  });

  it('keeps serving after all of them', async () => {
    const { status, body } = await postJson(url(), patientViewRequest());
    expect(status).toBe(200);
    expect(checkCdsResponse(body)).toEqual([]);
  });
});

describe('what is tolerated', () => {
  it('accepts application/fhir+json', async () => {
    const { status } = await postJson(url(), patientViewRequest(), { 'content-type': 'application/fhir+json; charset=utf-8' });
    expect(status).toBe(200);
  });

  it('tolerates unknown fields, extensions and unknown context fields', async () => {
    const body = patientViewRequest({
      extension: { 'com.example.ehr': { anything: [1, 2, 3] } },
      somethingNew: true,
      context: { userId: 'Practitioner/1', patientId: 'p1', encounterId: 'e1', futureField: { x: 1 } },
    });
    const { status, body: response } = await postJson(url(), body);
    expect(status).toBe(200);
    expect(checkCdsResponse(response)).toEqual([]);
  });

  it('answers an order hook with a medication order and a selection not in the bundle without failing', async () => {
    const req = orderRequest('order-select');
    const context = req.context as Record<string, unknown>;
    context.selections = ['MedicationRequest/med-1', 'ServiceRequest/not-in-bundle'];
    context.draftOrders = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'MedicationRequest', id: 'med-1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' } } }],
    };
    const { status, body } = await postJson(url('spine-cds-order-select'), req);
    expect(status).toBe(200);
    expect(checkCdsResponse(body)).toEqual([]);
  });
});
