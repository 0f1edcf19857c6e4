import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.js';

/**
 * JSON and FHIR JSON bodies through Fastify's own parser (prototype-poisoning protection on), plus a
 * nesting limit: V8 parses a million nested arrays happily, but every recursive step after it
 * (validation, FHIRPath, logging) would overflow the stack. Real CDS Hooks requests nest ~20 deep.
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // CDS Hooks speaks JSON only; anything else is answered 415 rather than half-parsed.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json'],
    { parseAs: 'string' },
    (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      parseJson(request, text, (err: Error | null, value?: unknown) => {
        if (err) return done(err);
        if (nestingExceeds(value, maxDepth)) {
          return done(new HttpProblem(400, `Request body nests deeper than ${maxDepth} levels`));
        }
        done(null, value);
      });
    },
  );
}

/** Iterative depth check, so the check itself cannot overflow. */
export function nestingExceeds(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return true;
    const children = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
