import { describe, expect, it } from 'vitest';
import { SERVICES } from '../../hooks/services.js';
import { InvalidHookRequest } from '../../src/protocol/errors.js';
import { validateHookRequest } from '../../src/protocol/service-call.js';

// The protocol stage speaks the protocol's language; the HTTP statuses are the server's business
// (their end-to-end answers are pinned in bad-input.test.ts and data-resolution.test.ts).
describe('the protocol stage raises domain errors, not HTTP errors', () => {
  const patientView = SERVICES.find((s) => s.hook === 'patient-view')!;

  it('a body that is not an object is an InvalidHookRequest', () => {
    expect(() => validateHookRequest(patientView, [])).toThrow(InvalidHookRequest);
  });

  it('a wrong hook is an InvalidHookRequest that names both hooks', () => {
    const call = (): unknown =>
      validateHookRequest(patientView, { hook: 'order-sign', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', context: { userId: 'Practitioner/1', patientId: 'p1' } });
    expect(call).toThrow(InvalidHookRequest);
    expect(call).toThrow(/patient-view.*order-sign/);
  });

  it('a context missing patientId is an InvalidHookRequest whose issue points at the field', () => {
    let caught: unknown;
    try {
      validateHookRequest(patientView, { hook: 'patient-view', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', context: { userId: 'Practitioner/1' } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidHookRequest);
    expect((caught as InvalidHookRequest).issues).toEqual(expect.arrayContaining([expect.objectContaining({ expression: ['context.patientId'] })]));
    expect(caught).not.toHaveProperty('statusCode');
  });
});
