import type { OperationOutcomeIssue } from 'fhir/r4';
import type { z } from 'zod';
import { HttpProblem } from '../http/problem.js';

/** Parses with a zod schema or throws a 400 whose OperationOutcome lists each problem with its path. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, prefix: string, what: string): z.infer<S> {
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
  throw new HttpProblem(400, `Invalid ${what}`, issues);
}
