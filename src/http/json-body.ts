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
      // On the text, before parsing: one pass over the characters, where walking the parsed tree
      // cost ~100–400 ms for a 6 MB body with 80,000 codings (issue 14). A body too deep is never parsed.
      if (textNestingExceeds(text, maxDepth)) {
        return done(new HttpProblem(400, `Request body nests deeper than ${maxDepth} levels`));
      }
      if (text.length < YIELD_AFTER_CHARS) return parseJson(request, text, done);
      // A large body: what follows its parse (validation, data, findings, cards) starts on the next
      // turn of the loop, so probes and other calls get in between the two blocks instead of waiting
      // for both (issue 14: no single block much over 100 ms at the default 4 MiB).
      // Two setImmediates: the first runs in this turn's check phase, the second after the next poll
      // phase, where the I/O that arrived meanwhile (a probe, another call's bytes) is served.
      parseJson(request, text, (err: Error | null, value?: unknown) => void setImmediate(() => setImmediate(done, err, value)));
    },
  );
}

/** Bodies from this size on are handed on a turn after their parse; a typical call (tens of kB) is not. */
const YIELD_AFTER_CHARS = 256 * 1024;

/**
 * The deepest nesting of `[` and `{` in JSON text, outside strings, compared with maxDepth. Invalid
 * JSON is left to the parser; this only has to be right for text the parser would accept.
 */
export function textNestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: to the next quote not escaped, i.e. preceded by an even run of backslashes.
      // indexOf runs vectorised; a loop over every character of every string cost twice as much on
      // a body of 1.4 MB in 86,000 short strings (issue 17).
      for (;;) {
        const quote = text.indexOf('"', i + 1);
        if (quote < 0) return false;
        let k = quote - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        i = quote;
        if ((quote - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
