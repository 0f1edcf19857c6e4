import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths never written to the log at any level: bearer tokens, JWTs, the EHR's FHIR access token,
 * prefetch contents and patient identifiers. Log lines carry hookInstance and service, which is
 * enough to correlate with the EHR's own audit trail.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  'jwt',
  '*.jwt',
  'access_token',
  '*.access_token',
  'fhirAuthorization',
  '*.fhirAuthorization',
  'prefetch',
  '*.prefetch',
  'context',
  '*.context',
  'patientId',
  '*.patientId',
  'patient',
  '*.patient',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'spine-cds' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/** A standalone logger with the same redaction, for CLIs and tools outside the HTTP app. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(loggerOptions(level), destination);
}
