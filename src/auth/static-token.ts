import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Static bearer tokens for people and scrapers (ADMIN_TOKEN, METRICS_TOKEN), never the EHR's JWT.
 * Both sides are hashed first: equal lengths for timingSafeEqual, and no early exit that would tell
 * the token's length.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Bearer <secret>`, compared in constant time. */
export function bearerMatches(authorization: string | undefined, secret: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return match !== null && sameSecret(match[1]!, secret);
}
