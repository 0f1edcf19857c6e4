import { describe, expect, it } from 'vitest';
import { formatServiceLog } from '../../kit/sandbox/log-line.js';

/** What `npm run sandbox -- --verbose` prints for the service's log lines. */

// A summary line as the service writes it: pino's base binding "service" names the application, "serviceId" the CDS service.
const serviceCall =
  '{"level":30,"time":"2026-12-02T14:49:32.732Z","service":"spine-cds","reqId":"r1","hookInstance":"h1","method":"POST","path":"/cds-services/:id","status":200,"durationMs":60.8,"route":"service","serviceId":"spine-cds-order-sign","hook":"order-sign","cards":2,"fetched":["procedures"],"unavailable":[],"msg":"request completed"}';

describe('sandbox view of the service log', () => {
  it('shows a service call with status, service, hook, card count, fetched keys and duration', () => {
    expect(formatServiceLog(serviceCall, true)).toBe(
      '[cds] POST /cds-services/:id  200  spine-cds-order-sign  order-sign  2 cards  fetched procedures  60.8 ms',
    );
  });

  it('shows a refused call and a feedback call with their status', () => {
    const refused = '{"level":30,"service":"spine-cds","method":"POST","path":"/cds-services/:id","status":412,"durationMs":4,"route":"service","serviceId":"spine-cds-patient-view","hook":"patient-view","msg":"request completed"}';
    expect(formatServiceLog(refused, true)).toBe('[cds] POST /cds-services/:id  412  spine-cds-patient-view  patient-view  4 ms');
    const feedback = '{"level":30,"service":"spine-cds","method":"POST","path":"/cds-services/:id/feedback","status":200,"durationMs":3,"route":"feedback","serviceId":"spine-cds-patient-view","feedback":{"stored":1,"duplicates":0,"unknownCards":0},"msg":"request completed"}';
    expect(formatServiceLog(feedback, true)).toBe('[cds] POST /cds-services/:id/feedback  200  spine-cds-patient-view  feedback stored 1, duplicates 0  3 ms');
  });

  it('without --verbose shows warnings and errors only, and never drops a line that is not JSON', () => {
    expect(formatServiceLog(serviceCall, false)).toBeUndefined();
    expect(formatServiceLog('{"level":40,"msg":"WARNING: CDS_AUTH=off"}', false)).toBe('[cds] WARNING: CDS_AUTH=off');
    expect(formatServiceLog('Error: boom', false)).toBe('[cds] Error: boom');
  });
});
