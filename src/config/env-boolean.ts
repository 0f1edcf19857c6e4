/**
 * The one reading of a boolean environment variable, shared by the service configuration and the
 * `RULE_*` decision-rule settings so the same spelling never means different things in the two.
 * Deliberately strict (exact, case-sensitive, no surrounding spaces): `yes`, `on` or `TRUE` stop the
 * service with a message instead of being guessed at.
 */
export const ENV_BOOLEAN_SPELLINGS = ['true', 'false', '1', '0'] as const;

/** true or false for an accepted spelling; undefined for anything else. */
export function parseEnvBoolean(raw: string): boolean | undefined {
  switch (raw) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      return undefined;
  }
}
