import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defaultMappingsDir } from '../knowledge/knowledge.js';
import type {
  CallStats,
  DataGapCount,
  IssuedByDay,
  OverrideReasonCount,
  Report,
  ReportRow,
  ServiceOverrideReason,
  SuggestionTypeCount,
} from './types.js';

/**
 * The one query layer behind `npm run report`, GET /admin/summary.json and the /admin page, for both
 * stores. Everything is aggregated in SQL over the period's rows, found through indexes
 * (migrations 1 and 3): the result is a few hundred rows whatever the size of the tables.
 *
 * Parameters are named (@since, @service): better-sqlite3 binds them by name; the PostgreSQL store
 * numbers them. Only the day bucket and the JSON array expansion differ between the dialects.
 */
export interface Dialect {
  /** Whole UTC days since 1970-01-01 of a timestamp column. */
  day(column: string): string;
  /** A join that yields one row `a.value` per element of a JSON array of strings. */
  eachJsonString(column: string): string;
  /** A subquery of the strings of a JSON array passed as a text parameter (for `x IN (…)`). */
  jsonStringsOf(parameter: string): string;
}

export const SQLITE_DIALECT: Dialect = {
  day: (column) => `(${column} / 86400000)`,
  eachJsonString: (column) => `JOIN json_each(${column}) AS a`,
  jsonStringsOf: (parameter) => `SELECT value FROM json_each(${parameter})`,
};

export const POSTGRES_DIALECT: Dialect = {
  day: (column) => `CAST(floor(extract(epoch FROM ${column}) / 86400) AS BIGINT)`,
  eachJsonString: (column) => `CROSS JOIN LATERAL jsonb_array_elements_text(${column}) AS a(value)`,
  jsonStringsOf: (parameter) => `SELECT jsonb_array_elements_text(CAST(${parameter} AS jsonb))`,
};

/** `service_id` of the alias, or every service when @service is null. */
const forService = (alias: string): string => `(CAST(@service AS TEXT) IS NULL OR ${alias}.service_id = @service)`;

/**
 * Feedback of the period: all feedback on cards issued since @since (joined when the report runs, not
 * when feedback arrives, so late cards or late retries still land on their topic), plus feedback on
 * cards not on record, by outcome time. Two index-driven halves instead of one OR over a full join.
 * Feedback on a card issued since @since was received after it: `received_at >= @receivedSince` (a
 * day earlier, for clock skew between replicas) changes no result and lets the planner read feedback
 * through its received_at index instead of scanning all of it.
 */
const FEEDBACK_COHORT = `
  WITH fb AS (
    SELECT f.service_id, COALESCE(c.topic, '(no topic)') AS topic, f.card_uuid, f.outcome, f.accepted_suggestions,
           f.override_reason_system, f.override_reason_code, f.override_reason_display, f.override_comment
    FROM issued_cards c JOIN feedback f ON f.card_uuid = c.card_uuid AND f.service_id = c.service_id
    WHERE c.issued_at >= @since AND f.received_at >= @receivedSince AND ${forService('c')}
    UNION ALL
    SELECT f.service_id, '(unknown card)' AS topic, f.card_uuid, f.outcome, f.accepted_suggestions,
           f.override_reason_system, f.override_reason_code, f.override_reason_display, f.override_comment
    FROM feedback f
    WHERE f.outcome_at >= @since AND ${forService('f')}
      AND NOT EXISTS (SELECT 1 FROM issued_cards c WHERE c.card_uuid = f.card_uuid AND c.service_id = f.service_id)
  )`;

/**
 * The overridden feedback of the period, one reason per entry, sorted into what may be reported.
 * `offered`: a code of the service's own override-reason CodeSystem (@reasonSystem, whose codes are
 * @offeredReasons), sent with that system or none; only then is the code kept, and its label is the
 * service's text. `other`: any other Coding. EHRs put free text in a local code and display (a
 * patient's name, an MRN), so neither leaves the database: only the system survives, for the
 * committee to see which EHR code system is in use. The EHR's display is never selected.
 * A plain dismissal (no code, no comment) and a comment without a code are different answers.
 */
const overriddenReasons = (d: Dialect): string => `${FEEDBACK_COHORT},
  classified AS (
    SELECT service_id, topic, card_uuid, override_reason_system, override_reason_code,
           CASE WHEN override_reason_code IS NULL THEN
                  CASE WHEN COALESCE(override_comment, '') <> '' THEN 'comment-only' ELSE 'none' END
                WHEN (override_reason_system IS NULL OR override_reason_system = @reasonSystem)
                     AND override_reason_code IN (${d.jsonStringsOf('@offeredReasons')}) THEN 'offered'
                ELSE 'other' END AS kind
    FROM fb WHERE outcome = 'overridden'
  ),
  reason AS (
    SELECT service_id, topic, card_uuid, kind,
           CASE WHEN kind = 'offered' THEN override_reason_code END AS code,
           CASE WHEN kind = 'other' THEN override_reason_system END AS system
    FROM classified
  )`;

export type ReportQuery = keyof ReturnType<typeof reportQueries>;

export function reportQueries(d: Dialect) {
  return {
    cards: `
      SELECT c.service_id, COALESCE(c.topic, '(no topic)') AS topic, COUNT(*) AS cards, COUNT(DISTINCT c.patient_hash) AS patients
      FROM issued_cards c
      WHERE c.issued_at >= @since AND ${forService('c')}
      GROUP BY 1, 2`,
    issuedByDay: `
      SELECT c.service_id, COALESCE(c.topic, '(no topic)') AS topic, c.indicator, ${d.day('c.issued_at')} AS day, COUNT(*) AS cards
      FROM issued_cards c
      WHERE c.issued_at >= @since AND ${forService('c')}
      GROUP BY 1, 2, 3, 4`,
    outcomes: `${FEEDBACK_COHORT}
      SELECT service_id, topic, outcome, COUNT(DISTINCT card_uuid) AS cards FROM fb GROUP BY 1, 2, 3`,
    reasons: `${overriddenReasons(d)}
      SELECT service_id, topic, kind, code, system, COUNT(DISTINCT card_uuid) AS cards
      FROM reason GROUP BY service_id, topic, kind, code, system`,
    reasonsByService: `${overriddenReasons(d)}
      SELECT service_id, kind, code, system, COUNT(DISTINCT card_uuid) AS cards
      FROM reason GROUP BY service_id, kind, code, system`,
    comments: `${FEEDBACK_COHORT}
      SELECT service_id, topic, COUNT(DISTINCT card_uuid) AS cards
      FROM fb WHERE outcome = 'overridden' AND COALESCE(override_comment, '') <> ''
      GROUP BY 1, 2`,
    suggestionsAccepted: `${FEEDBACK_COHORT}
      SELECT fb.service_id, COALESCE(s.suggestion_type, '(not on record)') AS type, COUNT(DISTINCT a.value) AS accepted
      FROM fb ${d.eachJsonString('fb.accepted_suggestions')}
      LEFT JOIN issued_suggestions s ON s.suggestion_uuid = a.value
      WHERE fb.outcome = 'accepted' AND fb.accepted_suggestions IS NOT NULL
      GROUP BY 1, 2`,
    suggestionsOffered: `
      SELECT s.service_id, s.suggestion_type AS type, COUNT(*) AS offered
      FROM issued_suggestions s
      WHERE s.issued_at >= @since AND ${forService('s')}
      GROUP BY 1, 2`,
    dataGaps: `
      SELECT g.service_id, g.prefetch_key, g.kind, COUNT(*) AS calls
      FROM call_data_gaps g
      WHERE g.called_at >= @since AND ${forService('g')}
      GROUP BY 1, 2, 3`,
    // Nearest-rank percentiles with window functions: the same SQL on both stores (SQLite has no
    // percentile_cont), and the sort happens in the database over the period's calls only.
    calls: `
      SELECT service_id, COUNT(*) AS calls,
             SUM(CASE WHEN status < 400 THEN 1 ELSE 0 END) AS ok,
             SUM(CASE WHEN status = 412 THEN 1 ELSE 0 END) AS precondition_failed,
             SUM(CASE WHEN status >= 400 AND status <> 412 THEN 1 ELSE 0 END) AS failed,
             MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN duration_ms END) AS median_ms,
             MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN duration_ms END) AS p95_ms
      FROM (
        SELECT k.service_id, k.status, k.duration_ms,
               ROW_NUMBER() OVER (PARTITION BY k.service_id ORDER BY k.duration_ms) AS rn,
               COUNT(*) OVER (PARTITION BY k.service_id) AS n
        FROM service_calls k
        WHERE k.called_at >= @since AND ${forService('k')}
      ) ranked
      GROUP BY service_id`,
  };
}

type Row = Record<string, unknown>;
/** Runs one report query with @since and @service bound; each store supplies its own. */
export type QueryRunner = (sql: string, params: ReportParams) => Promise<Row[]>;
export interface ReportParams {
  since: Date;
  receivedSince: Date;
  service: string | null;
  /** The url of the service's override-reason CodeSystem. */
  reasonSystem: string;
  /** Its codes, as a JSON array (one text parameter binds the same way on both stores). */
  offeredReasons: string;
}
/** Feedback arrives after its card; a day of margin covers clocks that disagree between replicas. */
const RECEIVED_MARGIN_MS = 86_400_000;

const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string => String(v ?? '');
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The override reasons this service offers on its cards: its own CodeSystem's url, and code → display. */
export interface OfferedOverrideReasons {
  system: string;
  display: ReadonlyMap<string, string>;
}

const CodeSystemSchema = z.object({
  url: z.string().min(1),
  concept: z.array(z.object({ code: z.string().min(1), display: z.string().min(1) })),
});

const offeredByDir = new Map<string, OfferedOverrideReasons>();

/**
 * The override-reason CodeSystem of a mappings directory (codesystems/override-reason.json), the
 * one the cards take their `overrideReasons` from: every reason a card topic offers is one of its
 * codes. Read once per directory.
 */
export function offeredOverrideReasons(mappingsDir: string = defaultMappingsDir()): OfferedOverrideReasons {
  let offered = offeredByDir.get(mappingsDir);
  if (!offered) {
    const file = path.join(mappingsDir, 'codesystems', 'override-reason.json');
    const cs = CodeSystemSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    offered = { system: cs.url, display: new Map(cs.concept.map((c) => [c.code, c.display])) };
    offeredByDir.set(mappingsDir, offered);
  }
  return offered;
}

export const NO_REASON_LABEL = '(no reason given)';
export const COMMENT_ONLY_LABEL = '(comment only)';
export const OTHER_REASON_LABEL = 'Other reason (not offered by this service)';

/**
 * An EHR's system is shown only when it has the shape of a URI (no spaces, bounded), so a system
 * field misused for free text is dropped like the code and display are.
 */
const SHOWABLE_SYSTEM = /^(https?:\/\/[\w.~:/?#@!$&'()*+,;=%-]+|urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[\w.~:/@!$&'()*+,;=%-]+)$/;
export const showableSystem = (system: string | null): string | null => (system !== null && system.length <= 200 && SHOWABLE_SYSTEM.test(system) ? system : null);

function reasonCount(q: Row, offered: OfferedOverrideReasons): OverrideReasonCount {
  const cards = num(q.cards);
  switch (q.kind) {
    case 'offered': {
      const code = str(q.code);
      return { label: offered.display.get(code) ?? code, system: offered.system, code, cards };
    }
    case 'other': {
      const system = showableSystem(optStr(q.system));
      return { label: OTHER_REASON_LABEL, ...(system ? { system } : {}), cards };
    }
    case 'comment-only':
      return { label: COMMENT_ONLY_LABEL, cards };
    default:
      return { label: NO_REASON_LABEL, cards };
  }
}

const byCountThenLabel = (a: { cards: number; label: string }, b: { cards: number; label: string }): number => b.cards - a.cards || a.label.localeCompare(b.label);

/**
 * Merges rows that read the same: other reasons whose systems were not shown. The count is then a
 * sum of card counts, which can count a card twice only if its feedback used two such systems.
 */
function mergeByLabel<T extends OverrideReasonCount>(list: T[]): T[] {
  const merged = new Map<string, T>();
  for (const r of list) {
    const key = `${r.label}\u0000${r.system ?? ''}`;
    const seen = merged.get(key);
    if (seen) seen.cards += r.cards;
    else merged.set(key, { ...r });
  }
  return [...merged.values()].sort((a, b) => byCountThenLabel(a, b) || (a.system ?? '').localeCompare(b.system ?? ''));
}

const TOP_REASONS = 5;
const DAY_MS = 86_400_000;

export interface ReportOptions {
  since: Date;
  serviceId?: string;
  /** The reasons whose codes and labels may be shown; by default the CodeSystem shipped in mappings/. */
  offeredReasons?: OfferedOverrideReasons;
}

export async function buildReport(run: QueryRunner, dialect: Dialect, opts: ReportOptions, now = new Date()): Promise<Report> {
  const queries = reportQueries(dialect);
  const offered = opts.offeredReasons ?? offeredOverrideReasons();
  const params: ReportParams = {
    since: opts.since,
    receivedSince: new Date(opts.since.getTime() - RECEIVED_MARGIN_MS),
    service: opts.serviceId ?? null,
    reasonSystem: offered.system,
    offeredReasons: JSON.stringify([...offered.display.keys()]),
  };
  const names = Object.keys(queries) as ReportQuery[];
  // One query at a time: run in parallel, a dashboard load held every connection of the PostgreSQL
  // pool, and the hook calls' replay check and card writes waited behind it.
  const q = {} as Record<ReportQuery, Row[]>;
  for (const name of names) q[name] = await run(queries[name], params);

  const rows = new Map<string, ReportRow>();
  const row = (serviceId: string, topic: string): ReportRow => {
    const key = `${serviceId}\u0000${topic}`;
    let r = rows.get(key);
    if (!r) {
      r = { serviceId, topic, cardsIssued: 0, patients: 0, accepted: 0, overridden: 0, acceptanceRate: null, topOverrideReasons: [], withComment: 0 };
      rows.set(key, r);
    }
    return r;
  };
  for (const c of q.cards) {
    const r = row(str(c.service_id), str(c.topic));
    r.cardsIssued = num(c.cards);
    r.patients = num(c.patients);
  }
  for (const o of q.outcomes) {
    const r = row(str(o.service_id), str(o.topic));
    if (o.outcome === 'accepted') r.accepted = num(o.cards);
    else if (o.outcome === 'overridden') r.overridden = num(o.cards);
  }
  for (const reason of q.reasons) row(str(reason.service_id), str(reason.topic)).topOverrideReasons.push(reasonCount(reason, offered));
  for (const c of q.comments) row(str(c.service_id), str(c.topic)).withComment = num(c.cards);
  for (const r of rows.values()) {
    const answered = r.accepted + r.overridden;
    r.acceptanceRate = answered > 0 ? r.accepted / answered : null;
    r.topOverrideReasons = mergeByLabel(r.topOverrideReasons).slice(0, TOP_REASONS);
  }

  const issuedByDay: IssuedByDay[] = q.issuedByDay
    .map((d) => ({
      day: new Date(num(d.day) * DAY_MS).toISOString().slice(0, 10),
      serviceId: str(d.service_id),
      topic: str(d.topic),
      indicator: str(d.indicator),
      cards: num(d.cards),
    }))
    .sort((a, b) => a.day.localeCompare(b.day) || a.serviceId.localeCompare(b.serviceId) || a.topic.localeCompare(b.topic) || a.indicator.localeCompare(b.indicator));

  const reasonsByService = new Map<string, ServiceOverrideReason[]>();
  for (const r of q.reasonsByService) {
    const serviceId = str(r.service_id);
    reasonsByService.set(serviceId, [...(reasonsByService.get(serviceId) ?? []), { serviceId, ...reasonCount(r, offered) }]);
  }
  const overrideReasons = [...reasonsByService.keys()].sort().flatMap((s) => mergeByLabel(reasonsByService.get(s)!));

  const suggestions = new Map<string, SuggestionTypeCount>();
  const suggestion = (serviceId: string, type: string): SuggestionTypeCount => {
    const key = `${serviceId}\u0000${type}`;
    let s = suggestions.get(key);
    if (!s) suggestions.set(key, (s = { serviceId, type, offered: 0, accepted: 0 }));
    return s;
  };
  for (const s of q.suggestionsOffered) suggestion(str(s.service_id), str(s.type)).offered = num(s.offered);
  for (const s of q.suggestionsAccepted) suggestion(str(s.service_id), str(s.type)).accepted = num(s.accepted);

  const gaps = new Map<string, DataGapCount>();
  for (const g of q.dataGaps) {
    const key = `${str(g.service_id)}\u0000${str(g.prefetch_key)}`;
    let gap = gaps.get(key);
    if (!gap) gaps.set(key, (gap = { serviceId: str(g.service_id), prefetchKey: str(g.prefetch_key), preconditionFailed: 0, unavailable: 0 }));
    if (g.kind === 'precondition-failed') gap.preconditionFailed = num(g.calls);
    else gap.unavailable = num(g.calls);
  }

  const calls: CallStats[] = q.calls.map((c) => ({
    serviceId: str(c.service_id),
    calls: num(c.calls),
    ok: num(c.ok),
    preconditionFailed: num(c.precondition_failed),
    failed: num(c.failed),
    medianMs: c.median_ms === null || c.median_ms === undefined ? null : Math.round(num(c.median_ms) * 10) / 10,
    p95Ms: c.p95_ms === null || c.p95_ms === undefined ? null : Math.round(num(c.p95_ms) * 10) / 10,
  }));

  const byService = (a: { serviceId: string }, b: { serviceId: string }): number => a.serviceId.localeCompare(b.serviceId);
  return {
    since: opts.since.toISOString(),
    generatedAt: now.toISOString(),
    serviceId: opts.serviceId ?? null,
    rows: [...rows.values()].sort((a, b) => byService(a, b) || a.topic.localeCompare(b.topic)),
    issuedByDay,
    overrideReasons,
    suggestions: [...suggestions.values()].sort((a, b) => byService(a, b) || b.accepted - a.accepted || a.type.localeCompare(b.type)),
    dataGaps: [...gaps.values()].sort(
      (a, b) => byService(a, b) || b.preconditionFailed + b.unavailable - (a.preconditionFailed + a.unavailable) || a.prefetchKey.localeCompare(b.prefetchKey),
    ),
    calls: calls.sort(byService),
  };
}

/** `@name` → `$1, $2, …` for node-postgres, with the values in that order (a name used twice is one parameter). */
export function numberedParameters(sql: string, params: object): { text: string; values: unknown[] } {
  const named = params as Record<string, unknown>;
  const order: string[] = [];
  const text = sql.replace(/@([A-Za-z]+)/g, (_, name: string) => {
    if (!(name in named)) throw new Error(`report query: no value for @${name}`);
    let i = order.indexOf(name);
    if (i === -1) i = order.push(name) - 1;
    return `$${i + 1}`;
  });
  return { text, values: order.map((n) => named[n]) };
}

/** The JSON both `npm run report -- --json` and GET /admin/summary.json print: where the figures come from, then the report. */
export function summaryJson(report: Report, database: string): { database: string } & Report {
  return { database, ...report };
}
