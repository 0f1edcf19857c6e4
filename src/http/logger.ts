import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Names never written to the log at any level: bearer tokens, JWTs, the EHR's FHIR access token,
 * prefetch contents and patient identifiers. Log lines carry hookInstance and service, which is
 * enough to correlate with the EHR's own audit trail. Each name is redacted at the top of a log
 * object and one level inside it (`{ body: { prefetch } }`), as pino's `*.name` paths would.
 */
export const REDACTED_NAMES = [
  'authorization',
  'token',
  'jwt',
  'access_token',
  'fhirAuthorization',
  'prefetch',
  'context',
  'patientId',
  'patient',
] as const;

/** Paths pino's own redaction covers: every name at the top level, and the request's headers. */
export const REDACTED_PATHS = ['req.headers.authorization', 'headers.authorization', ...REDACTED_NAMES];

const CENSOR = '[redacted]';

/**
 * The one-level-down half of the redaction. pino's redact handles fixed paths at almost no cost,
 * but each wildcard path costs about 1.7 µs on every line: nine `*.name` paths made the one summary
 * line of a call cost 16 µs instead of 2 (test/bench/README.md). One pass over the object's
 * properties does the same job. The caller's objects are never modified: a property that holds a
 * redacted name is replaced by a copy, with its prototype and non-enumerable properties (an
 * Error's message and stack) kept, so serializers see what they expect. pino runs it on the object
 * of each log call, not on child-logger bindings: those get the top-level names only, so bind
 * identifiers (hookInstance, reqId), never objects.
 */
export function redactNested(obj: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    const value = obj[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    let descriptors: PropertyDescriptorMap | undefined;
    for (const name of REDACTED_NAMES) {
      if (!Object.prototype.hasOwnProperty.call(value, name)) continue;
      descriptors ??= Object.getOwnPropertyDescriptors(value);
      descriptors[name] = { value: CENSOR, enumerable: true, writable: true, configurable: true };
    }
    if (!descriptors) continue;
    out ??= { ...obj };
    out[key] = Object.create(Object.getPrototypeOf(value) as object | null, descriptors) as unknown;
  }
  return out ?? obj;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'spine-cds' },
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    formatters: { log: redactNested },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/** A standalone logger with the same redaction, for CLIs and tools outside the HTTP app. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(loggerOptions(level), destination);
}
