import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions, REDACTED_NAMES } from '../../src/http/logger.js';

/** A pino logger with the service's options whose lines are captured, without the time field. */
function capture(options = loggerOptions('info')) {
  const lines: string[] = [];
  const logger = pino({ ...options, timestamp: false }, { write: (l: string) => lines.push(l) });
  return { logger, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('log redaction', () => {
  it('redacts each name at the top of a log object and one level inside it', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        token: 't0',
        body: { prefetch: { patient: { id: 'p1' } }, context: { patientId: 'mrn-1' }, fhirAuthorization: { access_token: 'a1' }, hook: 'patient-view' },
        headers: { authorization: 'Bearer x.y.z', accept: 'application/json' },
        auth: { reason: 'malformed', jwt: 'x.y.z' },
      },
      'deliberate',
    );
    expect(lines()[0]).toMatchObject({
      token: '[redacted]',
      body: { prefetch: '[redacted]', context: '[redacted]', fhirAuthorization: '[redacted]', hook: 'patient-view' },
      headers: { authorization: '[redacted]', accept: 'application/json' },
      auth: { reason: 'malformed', jwt: '[redacted]' },
    });
  });

  it("leaves the caller's objects as they were, and an error keeps its message", () => {
    const { logger, lines } = capture();
    const body = { patientId: 'mrn-2', hook: 'patient-view' };
    const err = Object.assign(new Error('upstream refused'), { token: 'secret-token' });
    logger.error({ body, err }, 'failed');
    expect(body).toEqual({ patientId: 'mrn-2', hook: 'patient-view' });
    expect(err.token).toBe('secret-token');
    const line = lines()[0] as { body: unknown; err: { message: string; type: string; token: string } };
    expect(line.body).toEqual({ patientId: '[redacted]', hook: 'patient-view' });
    expect(line.err).toMatchObject({ type: 'Error', message: 'upstream refused', token: '[redacted]' });
  });

  it("writes exactly what pino's own wildcard paths would, for any object", () => {
    const wildcard = { ...loggerOptions('info'), formatters: {} };
    wildcard.redact = { paths: ['req.headers.authorization', 'headers.authorization', ...REDACTED_NAMES.flatMap((n) => [n, `*.${n}`])], censor: '[redacted]' };
    const key = fc.constantFrom(...REDACTED_NAMES, 'hook', 'id', 'req', 'headers', 'body');
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (obj) => {
        const ours = capture();
        const theirs = capture(wildcard);
        ours.logger.info(obj, 'm');
        theirs.logger.info(obj, 'm');
        expect(ours.lines()).toEqual(theirs.lines());
      }),
      { numRuns: 500 },
    );
  });
});
