import type { FhirServerPolicy } from './allowlist.js';
import { isFhirServerAllowed } from './allowlist.js';

/** A failed FHIR-server call, phrased for the 412 body (no token, no patient data). */
export class FhirFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirFetchError';
  }
}

export interface FhirClientOptions {
  baseUrl: string;
  accessToken: string | undefined;
  signal: AbortSignal;
  policy: FhirServerPolicy;
}

/**
 * GETs one FHIR URL (relative to the base, or an absolute `next` link) and returns the parsed JSON
 * resource. Refuses any URL whose origin is not allowed, including `next` links pointing elsewhere,
 * so the access token never leaves for a server the operator did not approve.
 */
export async function fhirGet(urlOrPath: string, opts: FhirClientOptions): Promise<unknown> {
  const url = resolveUrl(urlOrPath, opts.baseUrl);
  if (!isFhirServerAllowed(url.toString(), opts.policy) || url.origin !== new URL(opts.baseUrl).origin) {
    throw new FhirFetchError(`refused to call ${url.origin}: not the allowed fhirServer`);
  }
  const headers: Record<string, string> = { accept: 'application/fhir+json, application/json' };
  if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: opts.signal, redirect: 'error' });
  } catch (err) {
    if (opts.signal.aborted) throw new FhirFetchError('FHIR server did not answer before the deadline');
    throw new FhirFetchError(`FHIR server unreachable (${(err as Error).name})`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new FhirFetchError(`FHIR server answered HTTP ${response.status}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new FhirFetchError(opts.signal.aborted ? 'FHIR server did not answer before the deadline' : 'FHIR server response was cut off');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FhirFetchError('FHIR server answered with a body that is not JSON');
  }
  if (typeof body !== 'object' || body === null || typeof (body as { resourceType?: unknown }).resourceType !== 'string') {
    throw new FhirFetchError('FHIR server answered with JSON that is not a FHIR resource');
  }
  return body;
}

function resolveUrl(urlOrPath: string, baseUrl: string): URL {
  if (/^https?:\/\//i.test(urlOrPath)) return new URL(urlOrPath);
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return new URL(urlOrPath.replace(/^\/+/, ''), base);
}

/** Runs tasks with at most `limit` in flight; results keep their order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const index = nextIndex++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
