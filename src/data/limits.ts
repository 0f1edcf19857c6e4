import type { FhirResource } from 'fhir/r4';
import type { DataGap } from './record.js';

/**
 * How much work one hook call may cause. Each bound is sized so a large real chart fits under it,
 * while a hostile or broken one cannot hold the event loop (docs/operations.md lists them with the
 * measurements behind the defaults). Whatever a bound leaves out is reported as a DataGap, which
 * the cards show: bounded, never silent.
 */
export interface WorkLimits {
  /** Bytes of one FHIR-server response body. */
  maxResponseBytes: number;
  /** Bytes read from the FHIR server over the whole call (all keys, all pages). */
  maxCallBytes: number;
  /** Resources evaluated per prefetch key, newest first. */
  maxResourcesPerKey: number;
  /** Resources evaluated per call, over all keys. */
  maxResourcesPerCall: number;
  /** Codings read per CodeableConcept. */
  maxCodingsPerElement: number;
  /** Characters of one text or display given to the name matcher. */
  maxNameTextLength: number;
  /** Draft orders reviewed per call. */
  maxDraftOrders: number;
}

/**
 * Bytes: parsing JSON is the one step whose cost grows with the bytes and cannot be cut in pieces
 * (JSON.parse is one synchronous call), about 10–25 ms per MiB on the shared 2-core machines. At
 * 4 MiB no single answer or body holds the loop for much more than 100 ms, and the largest real
 * charts in test/fixtures/external are far below: one patient's whole record 1.1–1.4 MB, the
 * largest single search answer 1.2 MB (1,036 MedicationRequests). The per-call cap is four such
 * answers: each is parsed on its own, so it bounds memory and total work, not the longest block.
 */
export const DEFAULT_LIMITS: Readonly<WorkLimits> = {
  maxResponseBytes: 4 * 1024 * 1024,
  maxCallBytes: 16 * 1024 * 1024,
  maxResourcesPerKey: 2_000,
  maxResourcesPerCall: 6_000,
  maxCodingsPerElement: 32,
  maxNameTextLength: 1_000,
  maxDraftOrders: 50,
};

/** The resources kept for one key and how many were left out. */
export interface KeptResources {
  resources: FhirResource[];
  dropped: number;
}

/**
 * Caps each key at maxResourcesPerKey, newest first, then shares maxResourcesPerCall fairly: keys
 * with few resources keep them all and the rest is split among the large ones, so one huge list
 * (125,000 Conditions) cannot starve the observations or the medications.
 */
export function capPerKey(lists: readonly FhirResource[][], limits: WorkLimits): KeptResources[] {
  const allowed = lists.map((l) => Math.min(l.length, limits.maxResourcesPerKey));
  let left = limits.maxResourcesPerCall;
  const order = allowed.map((n, i) => ({ n, i })).sort((a, b) => a.n - b.n);
  order.forEach(({ n, i }, position) => {
    const share = Math.floor(left / (order.length - position));
    allowed[i] = Math.min(n, share);
    left -= allowed[i]!;
  });
  return lists.map((list, i) => {
    const keep = allowed[i]!;
    if (list.length <= keep) return { resources: list, dropped: 0 };
    return { resources: newestFirst(list, keep), dropped: list.length - keep };
  });
}

/** The `keep` newest resources (undated ones last), in newest-first order. */
export function newestFirst(list: readonly FhirResource[], keep: number): FhirResource[] {
  const times = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) times[i] = resourceTime(list[i]);
  const order = new Uint32Array(list.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // Typed-array sort with a comparator: no argument spread, no recursion, fine at 200,000.
  order.sort((a, b) => times[b]! - times[a]! || a - b);
  const out: FhirResource[] = new Array<FhirResource>(keep);
  for (let i = 0; i < keep; i++) out[i] = list[order[i]!]!;
  return out;
}

const DATE_FIELDS = [
  'effectiveDateTime',
  'effectiveInstant',
  'issued',
  'recordedDate',
  'onsetDateTime',
  'authoredOn',
  'performedDateTime',
  'occurrenceDateTime',
  'dateAsserted',
] as const;
const PERIOD_FIELDS = ['effectivePeriod', 'onsetPeriod', 'performedPeriod', 'occurrencePeriod'] as const;

/** When the resource happened or was recorded, in ms; -Infinity when it says nothing usable. */
function resourceTime(resource: unknown): number {
  if (typeof resource !== 'object' || resource === null) return -Infinity;
  const r = resource as Record<string, unknown>;
  for (const f of DATE_FIELDS) {
    const t = typeof r[f] === 'string' ? Date.parse(r[f] as string) : NaN;
    if (Number.isFinite(t)) return t;
  }
  for (const f of PERIOD_FIELDS) {
    const p = r[f] as { start?: unknown; end?: unknown } | undefined;
    const v = p && typeof p === 'object' ? (typeof p.end === 'string' ? p.end : p.start) : undefined;
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(t)) return t;
  }
  const updated = (r.meta as { lastUpdated?: unknown } | undefined)?.lastUpdated;
  const t = typeof updated === 'string' ? Date.parse(updated) : NaN;
  return Number.isFinite(t) ? t : -Infinity;
}

/**
 * Trims, in place, every `coding` array to maxCodingsPerElement and every `text` and `display`
 * longer than maxNameTextLength: the findings read codings element by element and run the name
 * matcher over those strings, so 80,000 codings on one Condition (6.7 MB) would otherwise hold the
 * loop for seconds. Iterative (no recursion), and each object is visited once.
 */
export function boundResources(resources: FhirResource[], limits: WorkLimits): { resources: FhirResource[]; gaps: DataGap[] } {
  let codingsCut = 0;
  let textsCut = 0;
  const stack: unknown[] = [];
  for (const resource of resources) {
    stack.push(resource);
    while (stack.length > 0) {
      const node = stack.pop();
      if (typeof node !== 'object' || node === null) continue;
      if (Array.isArray(node)) {
        for (const child of node) if (typeof child === 'object' && child !== null) stack.push(child);
        continue;
      }
      const obj = node as Record<string, unknown>;
      for (const key in obj) {
        const value = obj[key];
        if (typeof value === 'string') {
          if ((key === 'text' || key === 'display') && value.length > limits.maxNameTextLength) {
            obj[key] = value.slice(0, limits.maxNameTextLength);
            textsCut++;
          }
        } else if (typeof value === 'object' && value !== null) {
          if (key === 'coding' && Array.isArray(value) && value.length > limits.maxCodingsPerElement) {
            obj[key] = value.slice(0, limits.maxCodingsPerElement);
            codingsCut++;
          }
          // Narrative (text.div) is XHTML for people; nothing reads it, so it is not walked.
          if (key === 'text' && !Array.isArray(value)) continue;
          stack.push(obj[key]);
        }
      }
    }
  }
  const gaps: DataGap[] = [];
  if (codingsCut > 0) {
    gaps.push({ key: 'codings', bounded: true, reason: `${codingsCut} coded elements had more than ${limits.maxCodingsPerElement} codings; only the first ${limits.maxCodingsPerElement} of each were read` });
  }
  if (textsCut > 0) {
    gaps.push({ key: 'text', bounded: true, reason: `${textsCut} texts were longer than ${limits.maxNameTextLength} characters; only their start was read` });
  }
  return { resources, gaps };
}

/** The first maxDraftOrders draft orders, and a gap saying how many were not reviewed. */
export function boundDraftOrders<T>(orders: T[], limits: Pick<WorkLimits, 'maxDraftOrders'>): { orders: T[]; gap?: DataGap } {
  if (orders.length <= limits.maxDraftOrders) return { orders };
  return {
    orders: orders.slice(0, limits.maxDraftOrders),
    gap: { key: 'draftOrders', bounded: true, reason: `only the first ${limits.maxDraftOrders} of ${orders.length} draft orders were reviewed` },
  };
}
