import type { Resource } from 'fhir/r4';
import { readResource, searchAllPages, trimSlash } from '../fhir/client.js';

/**
 * The EHR side of CDS Hooks prefetch: fill the service's templates from the hook context and run
 * them against the FHIR server, following next links so each value holds every match (CDS Hooks 2.0
 * §Prefetch). A query that fails is left out, which the spec defines as "not provided": the
 * service then fetches it itself.
 */

export interface PrefetchResult {
  prefetch: Record<string, Resource | null>;
  /** Keys left out, with why (printed by `fire`). */
  failures: { key: string; reason: string }[];
}

/** Replaces `{{context.X}}` and `{{userPractitionerId}}`-style tokens; undefined if a token has no value. */
export function fillPrefetchTemplate(template: string, context: Record<string, unknown>): string | undefined {
  const user = typeof context.userId === 'string' ? context.userId : '';
  const [userType, userId] = user.split('/');
  const userTokens: Record<string, string | undefined> = {
    userPractitionerId: userType === 'Practitioner' ? userId : undefined,
    userPractitionerRoleId: userType === 'PractitionerRole' ? userId : undefined,
    userPatientId: userType === 'Patient' ? userId : undefined,
    userRelatedPersonId: userType === 'RelatedPerson' ? userId : undefined,
  };
  let missing = false;
  const filled = template.replace(/\{\{\s*(context\.)?([A-Za-z0-9_]+)\s*\}\}/g, (_m, isContext: string | undefined, name: string) => {
    const value = isContext ? context[name] : userTokens[name];
    if (typeof value !== 'string' || value === '') {
      missing = true;
      return '';
    }
    return encodeURIComponent(value);
  });
  return missing ? undefined : filled;
}

export async function executePrefetch(
  templates: Record<string, string>,
  fhirServer: string,
  context: Record<string, unknown>,
  token?: string,
): Promise<PrefetchResult> {
  const base = trimSlash(fhirServer);
  const result: PrefetchResult = { prefetch: {}, failures: [] };
  await Promise.all(
    Object.entries(templates).map(async ([key, template]) => {
      const query = fillPrefetchTemplate(template, context);
      if (query === undefined) {
        result.failures.push({ key, reason: 'a context token in the template has no value' });
        return;
      }
      const url = `${base}/${query.replace(/^\/+/, '')}`;
      try {
        // A read is `Type/id`; anything with a query string or a bare type is a search.
        result.prefetch[key] = /^[A-Za-z]+\/[^/?]+$/.test(query) ? await readResource(url, token) : await searchAllPages(url, token);
      } catch (err) {
        result.failures.push({ key, reason: (err as Error).message });
      }
    }),
  );
  return result;
}
