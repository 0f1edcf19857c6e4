import type { FhirServerPolicy } from './allowlist.js';
import { isFhirServerAllowed } from './allowlist.js';

/**
 * A failed FHIR-server call. `message` is the detailed reason, for the service log; what the caller
 * is told is decided by the resolver (a reason that says nothing about the target's state, unless
 * the operator put the server on the allowlist).
 */
export class FhirFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirFetchError';
  }
}

/** Bytes read from the FHIR server in one hook call, shared by every page of every key. */
export interface ByteBudget {
  /** Bytes of one response body at most. */
  perResponse: number;
  /** Bytes of all response bodies of the call together at most. */
  perCall: number;
  /**
   * Bytes still allowed for the rest of the call. Charged chunk by chunk as bytes arrive, because the
   * keys are fetched concurrently: a cap taken once when a response starts would let each of two
   * parallel reads spend the whole budget.
   */
  remaining: number;
}

export interface FhirClientOptions {
  baseUrl: string;
  accessToken: string | undefined;
  signal: AbortSignal;
  policy: FhirServerPolicy;
  budget: ByteBudget;
}

/**
 * GETs one FHIR URL (relative to the base, or an absolute `next` link) and returns the parsed JSON
 * resource. Refuses any URL whose origin is not allowed, including `next` links pointing elsewhere,
 * so the access token never leaves for a server the operator did not approve.
 *
 * The body is read chunk by chunk and the request is aborted as soon as it passes the per-response
 * or the per-call byte cap: a server that answers 400 MB (or never stops) costs at most the cap in
 * memory, and the parse that follows is bounded by it too.
 */
export async function fhirGet(urlOrPath: string, opts: FhirClientOptions): Promise<unknown> {
  const url = resolveUrl(urlOrPath, opts.baseUrl);
  if (!isFhirServerAllowed(url.toString(), opts.policy) || url.origin !== new URL(opts.baseUrl).origin) {
    throw new FhirFetchError(`refused to call ${url.origin}: not the allowed fhirServer`);
  }
  const headers: Record<string, string> = { accept: 'application/fhir+json, application/json' };
  if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;
  // Our own controller, so the byte cap can stop the transfer (not only stop reading it).
  const controller = new AbortController();
  const onDeadline = (): void => controller.abort();
  if (opts.signal.aborted) throw new FhirFetchError('FHIR server did not answer before the deadline');
  opts.signal.addEventListener('abort', onDeadline, { once: true });
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: controller.signal, redirect: 'error' });
    } catch (err) {
      if (opts.signal.aborted) throw new FhirFetchError('FHIR server did not answer before the deadline');
      throw new FhirFetchError(`FHIR server unreachable (${(err as Error).name})`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new FhirFetchError(`FHIR server answered HTTP ${response.status}`);
    }
    const text = await readCapped(response, opts, controller);
    if (opts.signal.aborted) throw new FhirFetchError('FHIR server did not answer before the deadline');
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
  } finally {
    opts.signal.removeEventListener('abort', onDeadline);
  }
}

/** Thrown (and logged) when a response passes a byte cap; `bytesRead` is what had arrived by then. */
export class FhirTooLargeError extends FhirFetchError {
  constructor(
    readonly limit: 'response' | 'call',
    readonly limitBytes: number,
    readonly bytesRead: number,
  ) {
    super(`FHIR server answer passed the ${limit === 'response' ? 'per-response' : 'per-call'} limit of ${limitBytes} bytes (read ${bytesRead})`);
    this.name = 'FhirTooLargeError';
  }
}

async function readCapped(response: Response, opts: FhirClientOptions, controller: AbortController): Promise<string> {
  const { budget } = opts;
  // One place decides which cap was passed: this response's own, or what is left of the call's.
  const passedCap = (responseBytes: number, incoming: number): FhirTooLargeError | undefined => {
    if (responseBytes > budget.perResponse) return new FhirTooLargeError('response', budget.perResponse, responseBytes);
    if (incoming > budget.remaining) return new FhirTooLargeError('call', budget.perCall, responseBytes);
    return undefined;
  };
  const declared = Number(response.headers.get('content-length'));
  const refused = Number.isFinite(declared) ? passedCap(declared, declared) : undefined;
  if (refused) {
    controller.abort();
    await response.body?.cancel().catch(() => undefined);
    throw new FhirTooLargeError(refused.limit, refused.limitBytes, 0);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
      const passed = passedCap(read, value.byteLength);
      budget.remaining = Math.max(0, budget.remaining - value.byteLength);
      if (passed) {
        controller.abort();
        await reader.cancel().catch(() => undefined);
        throw passed;
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof FhirFetchError) throw err;
    throw new FhirFetchError(opts.signal.aborted ? 'FHIR server did not answer before the deadline' : 'FHIR server response was cut off');
  }
  return Buffer.concat(chunks, read).toString('utf8');
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
