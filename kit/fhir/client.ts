import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4';

/**
 * A minimal FHIR REST client for the kit (seed, fire, sandbox, tests). It talks to any R4 server
 * (the local test server, HAPI, the SMART sandbox) and turns every failure into one readable
 * FhirClientError message, because the CLIs print it as their single error line.
 */

export class FhirClientError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FhirClientError';
  }
}

const FHIR_JSON = 'application/fhir+json';

export function fhirHeaders(token?: string, withBody = false): Record<string, string> {
  return {
    Accept: `${FHIR_JSON}, application/json`,
    ...(withBody ? { 'Content-Type': FHIR_JSON } : {}),
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  };
}

/** fetch + JSON with failures explained: unreachable server, non-2xx (with the OperationOutcome text). */
export async function fhirRequest(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: fhirHeaders(options.token, options.body !== undefined),
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (err) {
    throw new FhirClientError(`cannot reach FHIR server at ${originOf(url)}: ${causeText(err)}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const detail = outcomeText(json) ?? text.slice(0, 200);
    throw new FhirClientError(`${method} ${url} answered ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`, response.status);
  }
  return { status: response.status, json };
}

/**
 * POSTs a transaction or batch bundle to the base URL. Throws when the server refuses it, and for a
 * batch when any entry failed (a batch answers 200 even then).
 */
export async function postBundle(baseUrl: string, bundle: Bundle, token?: string): Promise<Bundle> {
  const { json } = await fhirRequest('POST', trimSlash(baseUrl), { body: bundle, ...(token ? { token } : {}) });
  const answer = json as Bundle | undefined;
  if (answer?.resourceType !== 'Bundle') throw new FhirClientError(`POST ${baseUrl} did not answer with a Bundle`);
  const failed = (answer.entry ?? [])
    .map((entry, i) => ({ entry, i }))
    .filter(({ entry }) => !/^2\d\d/.test(entry.response?.status ?? ''));
  if (failed.length > 0) {
    const first = failed[0] as { entry: BundleEntry; i: number };
    const request = bundle.entry?.[first.i]?.request;
    throw new FhirClientError(
      `${failed.length} of ${answer.entry?.length ?? 0} ${bundle.type} entries failed; first: ${request?.method ?? ''} ${request?.url ?? ''} -> ` +
        `${first.entry.response?.status ?? 'no status'} ${outcomeText(first.entry.response?.outcome) ?? ''}`.trim(),
    );
  }
  return answer;
}

/** A read: the resource, or `null` when the server answers 404/410 (CDS Hooks prefetch uses null). */
export async function readResource(url: string, token?: string): Promise<Resource | null> {
  try {
    const { json } = await fhirRequest('GET', url, token ? { token } : {});
    return json as Resource;
  } catch (err) {
    if (err instanceof FhirClientError && (err.status === 404 || err.status === 410)) return null;
    throw err;
  }
}

/**
 * A search that follows `Bundle.link[next]` and returns one searchset Bundle with every page's
 * entries (as CDS Hooks allows a prefetch value to be). `maxPages` bounds a runaway server: past
 * it the search fails rather than return part of the result.
 */
export async function searchAllPages(url: string, token?: string, maxPages = 50): Promise<Bundle> {
  const entries: BundleEntry[] = [];
  let next: string | undefined = url;
  let first: Bundle | undefined;
  for (let page = 0; next && page < maxPages; page++) {
    const { json } = await fhirRequest('GET', next, token ? { token } : {});
    const bundle = json as Bundle;
    if (bundle?.resourceType !== 'Bundle') throw new FhirClientError(`GET ${next} did not answer with a Bundle`);
    first ??= bundle;
    entries.push(...(bundle.entry ?? []));
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  // A truncated result would pass for the whole one; a prefetch value must equal the query's result.
  if (next) throw new FhirClientError(`GET ${url}: more than ${maxPages} pages, not read to the end`);
  const result: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: entries };
  if (first?.total !== undefined) result.total = first.total;
  return result;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function causeText(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

function outcomeText(json: unknown): string | undefined {
  const outcome = json as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome') return undefined;
  return outcome.issue
    ?.map((i) => i.diagnostics ?? i.details?.text ?? i.code)
    .filter(Boolean)
    .join('; ');
}
