import type { OperationOutcomeIssue } from 'fhir/r4';
import type { z } from 'zod';

/**
 * Parses with a zod schema or throws `invalid(message, issues)`, whose OperationOutcome issues list
 * each problem with its path. The caller picks the error, so this stays free of HTTP.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string,
  what: string,
  invalid: (message: string, issues: OperationOutcomeIssue[]) => Error,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: OperationOutcomeIssue[] = result.error.issues.slice(0, 20).map((issue) => {
    const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return {
      severity: 'error',
      code: issue.code === 'invalid_type' && issue.message.includes('undefined') ? 'required' : 'invalid',
      diagnostics: `${where || what}: ${issue.message}`,
      ...(where ? { expression: [where] } : {}),
    };
  });
  throw invalid(`Invalid ${what}`, issues);
}
