import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientViewRequest, postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

/** Correlation with the caller's logs and traces: X-Request-Id honoured and echoed, traceparent logged. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.close();
});

interface Summary {
  msg: string;
  reqId?: string;
  traceparent?: string;
  status?: number;
}
const summaryFor = (reqId: string): Summary | undefined =>
  svc
    .logLines()
    .map((l) => JSON.parse(l) as Summary)
    .find((l) => l.msg === 'request completed' && l.reqId === reqId);

describe('request correlation', () => {
  it("echoes the caller's X-Request-Id and puts it and the traceparent in the summary line", async () => {
    const response = await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, patientViewRequest(), {
      'x-request-id': 'epic-7f3a:42',
      traceparent: TRACEPARENT,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('epic-7f3a:42');
    expect(summaryFor('epic-7f3a:42')).toMatchObject({ status: 200, traceparent: TRACEPARENT });
  });

  it('gives each request without one its own UUID, echoed and logged (no per-process counter)', async () => {
    const a = await fetch(`${svc.baseUrl}/cds-services`);
    const b = await fetch(`${svc.baseUrl}/cds-services`);
    const [idA, idB] = [a.headers.get('x-request-id')!, b.headers.get('x-request-id')!];
    expect(idA).toMatch(UUID);
    expect(idB).toMatch(UUID);
    expect(idA).not.toBe(idB);
    expect(summaryFor(idA)).toMatchObject({ status: 200 });
    expect(summaryFor(idA)).not.toHaveProperty('traceparent');
  });

  it('replaces a malformed X-Request-Id and drops an invalid traceparent, also on errors', async () => {
    const response = await fetch(`${svc.baseUrl}/cds-services/no-such-service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'x'.repeat(200), traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
      body: '{}',
    });
    expect(response.status).toBe(404);
    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    const line = summaryFor(id);
    expect(line).toMatchObject({ status: 404 });
    expect(line).not.toHaveProperty('traceparent');
  });
});
