import type { FhirResource } from 'fhir/r4';
import type { PrefetchTemplate } from '../../hooks/types.js';
import type { PatientRecord } from '../record.js';
import type { FhirServerPolicy } from './allowlist.js';
import { FhirFetchError, fhirGet, mapWithConcurrency } from './fhir-client.js';
import { classifyFhirValue, classifyPrefetch, renderTemplate, type PrefetchValue } from './prefetch.js';
import { recordFromResources } from './record-builder.js';

export interface ResolveRequest {
  templates: readonly PrefetchTemplate[];
  context: Record<string, unknown>;
  prefetch: Record<string, unknown> | undefined;
  fhirServer: string | undefined;
  accessToken: string | undefined;
}

export interface ResolveOptions {
  policy: FhirServerPolicy;
  deadlineMs: number;
  maxConcurrency: number;
  maxPages: number;
  /** Told how long each key's read from the FHIR server took and whether it succeeded (metrics). */
  onFhirFetch?: (key: string, seconds: number, ok: boolean) => void;
}

export interface MissingData {
  key: string;
  reason: string;
}

/** Required data that could be had neither from prefetch nor from the FHIR server: answered 412. */
export class PreconditionFailed extends Error {
  constructor(readonly missing: MissingData[]) {
    super(`Required data unavailable: ${missing.map((m) => m.key).join(', ')}`);
    this.name = 'PreconditionFailed';
  }
}

export interface Resolution {
  record: PatientRecord;
  /** Which keys came from where, for the summary log (no contents). */
  sources: Record<string, 'prefetch' | 'fhirServer' | 'unavailable'>;
}

interface KeyResult {
  template: PrefetchTemplate;
  resources: FhirResource[];
  source: 'prefetch' | 'fhirServer' | 'unavailable';
  failure?: string;
  /** Data was obtained but is incomplete (paging cap reached). */
  truncated?: boolean;
}

/**
 * Prefetch first, then the EHR's FHIR server for whatever was not (usably) prefetched, in parallel
 * under one deadline. Required keys that stay unavailable fail the call with 412; optional ones
 * become DataGaps that the cards mention.
 */
export async function resolvePatientRecord(req: ResolveRequest, opts: ResolveOptions): Promise<Resolution> {
  // The deadline timer is only armed when something must be fetched: most calls are fully prefetched.
  let client: Client | undefined;
  const fhirClient = (): Client | undefined => {
    if (!req.fhirServer) return undefined;
    client ??= { baseUrl: req.fhirServer, accessToken: req.accessToken, signal: AbortSignal.timeout(opts.deadlineMs), policy: opts.policy };
    return client;
  };

  // Most calls are fully prefetched: those keys are sorted out synchronously, and only the rest
  // pay for promises and the concurrency bound.
  const results: KeyResult[] = [];
  const toFetch: Array<{ index: number; given: PrefetchValue }> = [];
  req.templates.forEach((template, index) => {
    const given = classifyPrefetch(template, req.prefetch);
    if (given.kind === 'null') results[index] = { template, resources: [], source: 'prefetch' };
    else if (given.kind === 'resources' && !given.next) results[index] = { template, resources: given.resources, source: 'prefetch' };
    else toFetch.push({ index, given });
  });
  if (toFetch.length > 0) {
    await mapWithConcurrency(toFetch, opts.maxConcurrency, async ({ index, given }) => {
      results[index] = await completeKey(req.templates[index]!, given);
    });
  }

  async function completeKey(template: PrefetchTemplate, given: PrefetchValue): Promise<KeyResult> {
    if (given.kind === 'resources' && given.next) {
      // A paginated prefetch: the rest of the pages are part of the data (checklist §2).
      const client = fhirClient();
      if (!client) return { template, resources: [], source: 'unavailable', failure: 'prefetch is paginated and no fhirServer was given to read the next pages' };
      try {
        const rest = await followPages(given.next, template, client, opts.maxPages - 1);
        return { template, resources: [...given.resources, ...rest.resources], source: 'prefetch', truncated: rest.truncated };
      } catch (err) {
        return { template, resources: [], source: 'unavailable', failure: failureText(err) };
      }
    }
    const why = describeUnusable(given);
    const client = fhirClient();
    if (!client) return { template, resources: [], source: 'unavailable', failure: `${why}, and no fhirServer was given` };
    const query = renderTemplate(template.query, req.context);
    if (query === undefined) return { template, resources: [], source: 'unavailable', failure: 'prefetch template needs a context field the request lacks' };
    const started = performance.now();
    try {
      const fetched = await fetchQuery(query, template, client, opts.maxPages);
      opts.onFhirFetch?.(template.key, (performance.now() - started) / 1000, true);
      return { template, resources: fetched.resources, source: 'fhirServer', truncated: fetched.truncated };
    } catch (err) {
      opts.onFhirFetch?.(template.key, (performance.now() - started) / 1000, false);
      return { template, resources: [], source: 'unavailable', failure: `${why}; fetching it failed: ${failureText(err)}` };
    }
  }

  const missing = results
    .filter((r) => r.failure !== undefined && r.template.required)
    .map((r) => ({ key: r.template.key, reason: r.failure! }));
  if (missing.length > 0) throw new PreconditionFailed(missing);

  const patientId = typeof req.context.patientId === 'string' ? req.context.patientId : undefined;
  // A plain loop: Array.prototype.flatMap takes a slow generic path for thousands of resources.
  const resources: FhirResource[] = [];
  for (const r of results) for (const resource of r.resources) resources.push(resource);
  const record = recordFromResources(resources, patientId);
  record.gaps = results.flatMap((r) => {
    if (r.failure !== undefined) return [{ key: r.template.key, reason: r.failure }];
    if (r.truncated) return [{ key: r.template.key, reason: `only the first ${opts.maxPages} pages were read; older entries were not considered` }];
    return [];
  });
  const sources = Object.fromEntries(results.map((r) => [r.template.key, r.source]));
  return { record, sources };
}

type Client = Parameters<typeof fhirGet>[1];

interface Pages {
  resources: FhirResource[];
  truncated: boolean;
}

async function fetchQuery(query: string, template: PrefetchTemplate, client: Client, maxPages: number): Promise<Pages> {
  const first = classifyFhirValue(template, await fhirGet(query, client));
  if (first.kind === 'outcome') throw new FhirFetchError('FHIR server answered with an OperationOutcome');
  if (first.kind === 'unusable') throw new FhirFetchError(`FHIR server answered with ${first.reason}`);
  if (first.kind !== 'resources') return { resources: [], truncated: false };
  if (!first.next) return { resources: first.resources, truncated: false };
  const rest = await followPages(first.next, template, client, maxPages - 1);
  return { resources: [...first.resources, ...rest.resources], truncated: rest.truncated };
}

async function followPages(next: string, template: PrefetchTemplate, client: Client, pagesLeft: number): Promise<Pages> {
  const collected: FhirResource[] = [];
  let url: string | undefined = next;
  const visited = new Set<string>();
  while (url && pagesLeft > 0 && !visited.has(url)) {
    visited.add(url);
    pagesLeft--;
    const page = classifyFhirValue(template, await fhirGet(url, client));
    if (page.kind !== 'resources') throw new FhirFetchError('a next page was not a searchset Bundle');
    collected.push(...page.resources);
    url = page.next;
  }
  // Past the cap the record is truncated; newest-first sorting in the templates keeps what matters,
  // and the gap is reported so the cards can say so.
  return { resources: collected, truncated: url !== undefined && !visited.has(url) };
}

function describeUnusable(value: PrefetchValue): string {
  switch (value.kind) {
    case 'missing':
      return 'not prefetched';
    case 'outcome':
      return 'prefetch returned an OperationOutcome';
    case 'unusable':
      return `prefetch unusable (${value.reason})`;
    default:
      return 'not prefetched';
  }
}

function failureText(err: unknown): string {
  return err instanceof FhirFetchError ? err.message : 'unexpected error reading the FHIR server';
}
