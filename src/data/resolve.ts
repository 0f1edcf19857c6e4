import type { FhirResource } from 'fhir/r4';
import type { PrefetchTemplate } from './prefetch-template.js';
import type { PatientRecord } from './record.js';
import type { FhirServerPolicy } from './allowlist.js';
import { FhirFetchError, FhirTooLargeError, fhirGet, mapWithConcurrency, type ByteBudget } from './fhir-client.js';
import { DEFAULT_LIMITS, boundResources, capPerKey, type WorkLimits } from './limits.js';
import { classifyFhirValue, classifyPrefetch, renderTemplate, type PrefetchValue } from './prefetch.js';
import { recordFromResources } from './record-builder.js';

export interface ResolveRequest {
  templates: readonly PrefetchTemplate[];
  context: Record<string, unknown>;
  prefetch: Record<string, unknown> | undefined;
  fhirServer: string | undefined;
  accessToken: string | undefined;
}

/**
 * One deadline for the whole hook call: fetching, parsing and evaluating (issue 14). Fetches are
 * aborted at it; synchronous work cannot be interrupted, so each stage checks it before it starts
 * (`throwIfPassed`) and no stage starts after it. The abort timer is armed only when something is
 * fetched: most calls are fully prefetched and never need one.
 */
export class CallDeadline {
  private readonly at: number;
  private armed: AbortSignal | undefined;

  constructor(readonly ms: number) {
    this.at = performance.now() + ms;
  }

  get passed(): boolean {
    return this.armed?.aborted === true || performance.now() >= this.at;
  }

  /** Aborts when the deadline passes; for the FHIR fetches. */
  get signal(): AbortSignal {
    this.armed ??= AbortSignal.timeout(Math.max(0, Math.ceil(this.at - performance.now())));
    return this.armed;
  }

  /** Before a stage of work: answering after the EHR stopped waiting would hold the loop for nothing. */
  throwIfPassed(stage: string): void {
    if (this.passed) throw new DeadlinePassed(this.ms, stage);
  }
}

/** The call's deadline passed before `stage` could start (answered 503). */
export class DeadlinePassed extends Error {
  constructor(
    readonly ms: number,
    readonly stage: string,
  ) {
    super(`the call's deadline of ${ms} ms passed before ${stage}`);
    this.name = 'DeadlinePassed';
  }
}

export interface ResolveOptions {
  policy: FhirServerPolicy;
  /** The whole call's deadline (fetch, parse, evaluate), started by the caller when the call began. */
  deadline: CallDeadline;
  maxConcurrency: number;
  maxPages: number;
  /** Told how long each key's read from the FHIR server took and whether it succeeded (metrics). */
  onFhirFetch?: (key: string, seconds: number, ok: boolean) => void;
  /** Byte and resource bounds; DEFAULT_LIMITS when absent. */
  limits?: Partial<WorkLimits>;
}

export interface MissingData {
  key: string;
  /** What the caller is told: says nothing of the target's state unless the operator allowlisted it. */
  reason: string;
  /** The full reason, for the service log only. */
  detail: string;
  /** Bytes read before a byte cap stopped the transfer (log and measurements). */
  bytesRead?: number;
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
  /** Optional keys that failed, with the detailed reason (the log; record.gaps has the caller's text). */
  failures: MissingData[];
}

interface KeyResult {
  template: PrefetchTemplate;
  resources: FhirResource[];
  source: 'prefetch' | 'fhirServer' | 'unavailable';
  failure?: string;
  /** Data was obtained but is incomplete (paging cap reached). */
  truncated?: boolean;
  /** The fetch error behind `failure`, when the FHIR server was asked. */
  error?: unknown;
}

/**
 * Prefetch first, then the EHR's FHIR server for whatever was not (usably) prefetched, in parallel
 * under one deadline. Required keys that stay unavailable fail the call with 412; optional ones
 * become DataGaps that the cards mention.
 */
export async function resolvePatientRecord(req: ResolveRequest, opts: ResolveOptions): Promise<Resolution> {
  const limits: WorkLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const { deadline } = opts;
  let client: Client | undefined;
  const budget: ByteBudget = { perResponse: limits.maxResponseBytes, perCall: limits.maxCallBytes, remaining: limits.maxCallBytes };
  const fhirClient = (): Client | undefined => {
    if (!req.fhirServer) return undefined;
    client ??= { baseUrl: req.fhirServer, accessToken: req.accessToken, signal: deadline.signal, policy: opts.policy, budget };
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
        return { template, resources: given.resources.concat(rest.resources), source: 'prefetch', truncated: rest.truncated };
      } catch (err) {
        return { template, resources: [], source: 'unavailable', failure: failureText(err), error: err };
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
      return { template, resources: [], source: 'unavailable', failure: `${why}; fetching it failed: ${failureText(err)}`, error: err };
    }
  }

  // The target's state is told to the caller only for a server the operator allowlisted: without an
  // allowlist (development) "got a Bundle" versus "unreachable" would make this service a port scanner.
  const detailed = opts.policy.allowlist.length > 0;
  const describe = (r: KeyResult): MissingData => {
    const detail = r.failure!;
    const reason = detailed || r.error === undefined ? detail : 'it could not be read from the fhirServer (the reason is in the service log)';
    return { key: r.template.key, reason, detail, ...(r.error instanceof FhirTooLargeError ? { bytesRead: r.error.bytesRead } : {}) };
  };
  const described = new Map<KeyResult, MissingData>();
  for (const r of results) if (r.failure !== undefined) described.set(r, describe(r));
  const missing = [...described].filter(([r]) => r.template.required).map(([, m]) => m);
  if (missing.length > 0) throw new PreconditionFailed(missing);
  const failures = [...described.values()];
  // Fetching and parsing are done; bounding and building the record must not start after the deadline.
  deadline.throwIfPassed('reading the record');
  // The last FHIR answer was parsed on this turn of the loop: bounding, the findings and the cards
  // run on the next, so the loop is not held for both at once. Fully prefetched calls go straight on.
  if (toFetch.length > 0) {
    // Two setImmediates: after the next poll phase, where I/O that arrived meanwhile is served.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    deadline.throwIfPassed('reading the record');
  }

  // Bounded before anything reads the record: resources per key (newest first) and per call, codings
  // per element and text length, so one hostile record cannot hold the event loop.
  const perKey = capPerKey(
    results.map((r) => r.resources),
    limits,
  );
  const patientId = typeof req.context.patientId === 'string' ? req.context.patientId : undefined;
  // A plain loop: Array.prototype.flatMap takes a slow generic path for thousands of resources.
  const resources: FhirResource[] = [];
  for (const kept of perKey) for (const resource of kept.resources) resources.push(resource);
  const bounded = boundResources(resources, limits);
  const record = recordFromResources(bounded.resources, patientId);
  const gaps: PatientRecord['gaps'] = [];
  results.forEach((r, i) => {
    const key = r.template.key;
    const failed = described.get(r);
    if (failed) gaps.push({ key, reason: failed.reason });
    else if (r.truncated) gaps.push({ key, reason: `only the first ${opts.maxPages} pages were read; older entries were not considered` });
    const kept = perKey[i]!;
    if (kept.dropped > 0) {
      gaps.push({ key, bounded: true, reason: `only the newest ${kept.resources.length} of ${kept.resources.length + kept.dropped} entries were evaluated (the service's work limits); older entries were not considered` });
    }
  });
  gaps.push(...bounded.gaps);
  record.gaps = gaps;
  const sources = Object.fromEntries(results.map((r) => [r.template.key, r.source]));
  return { record, sources, failures };
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
  return { resources: first.resources.concat(rest.resources), truncated: rest.truncated };
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
    // Not push(...page.resources): a spread passes every element as an argument and overflows the
    // stack past about 100,000.
    for (const resource of page.resources) collected.push(resource);
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
