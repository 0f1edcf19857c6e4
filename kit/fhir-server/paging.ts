import type { Bundle, BundleLink } from 'fhir/r4';

/**
 * Search paging for the test FHIR server. @medplum/fhir-router answers a search with every match
 * and no `Bundle.link`; real servers (HAPI, SMART) return pages with an absolute `next` link, and
 * CDS Hooks clients and services must follow it (checklist §2). The wrapper asks medplum for one
 * page via `_count`/`_offset` (which its MemoryRepository honours and for which it reports
 * `total`), then adds the links here.
 */

/** Query parameters real servers accept but medplum would treat as unknown filters. */
const PRESENTATION_PARAMS = ['_format', '_pretty'];

export const MAX_PAGE_SIZE = 1000;

export interface PageRequest {
  /** The query to hand to medplum: presentation params removed, `_count`/`_offset` explicit. */
  query: URLSearchParams;
  count: number;
  offset: number;
}

export function pageRequest(original: URLSearchParams, defaultPageSize: number): PageRequest {
  const query = new URLSearchParams(original);
  for (const p of PRESENTATION_PARAMS) query.delete(p);
  const count = clamp(parseNonNegativeInt(query.get('_count')) ?? defaultPageSize, 0, MAX_PAGE_SIZE);
  const offset = parseNonNegativeInt(query.get('_offset')) ?? 0;
  query.set('_count', String(count));
  query.set('_offset', String(offset));
  return { query, count, offset };
}

/**
 * Adds `self` and, when more matches remain, `next` (and `previous`) links with absolute URLs.
 * `total` counts matches only; `_include`d entries do not take page slots.
 */
export function withPagingLinks(bundle: Bundle, typeUrl: string, page: PageRequest): Bundle {
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(typeUrl, page.query, page.offset) }];
  const total = bundle.total;
  if (page.count > 0 && typeof total === 'number' && page.offset + page.count < total) {
    link.push({ relation: 'next', url: pageUrl(typeUrl, page.query, page.offset + page.count) });
  }
  if (page.offset > 0 && page.count > 0) {
    link.push({ relation: 'previous', url: pageUrl(typeUrl, page.query, Math.max(0, page.offset - page.count)) });
  }
  return { ...bundle, link };
}

function pageUrl(typeUrl: string, query: URLSearchParams, offset: number): string {
  const q = new URLSearchParams(query);
  q.set('_offset', String(offset));
  return `${typeUrl}?${q.toString()}`;
}

function parseNonNegativeInt(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
