import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultMappingsDir } from '../knowledge/knowledge.js';
import type { Report, ReportRow } from '../storage/index.js';

/**
 * The /admin page, rendered on the server: every figure is in an HTML table (readable without
 * script, by screen readers, and copyable); the charts are drawn from the same figures, embedded as
 * JSON, by /admin/assets/dashboard.js. Only counts, codes and code displays: no identifiers, no comments.
 */
export interface PageOptions {
  report: Report;
  days: number;
  services: readonly string[];
  /** The query string of the current view (for the JSON and CSV links). */
  query: string;
}

export const PERIODS = [7, 30, 90, 365] as const;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

let topicDisplays: Map<string, string> | undefined;
/** Card topic display texts (mappings/codesystems/card-topic.json), for headings; tables keep the code too. */
export function topicDisplay(code: string): string {
  if (!topicDisplays) {
    const cs = JSON.parse(readFileSync(path.join(defaultMappingsDir(), 'codesystems', 'card-topic.json'), 'utf8')) as { concept: Array<{ code: string; display: string }> };
    topicDisplays = new Map(cs.concept.map((c) => [c.code, c.display]));
  }
  return topicDisplays.get(code) ?? code;
}

export const percent = (rate: number | null): string => (rate === null ? '–' : `${(rate * 100).toFixed(1)}%`);
const ms = (value: number | null): string => (value === null ? '–' : `${value.toFixed(1)} ms`);
const int = (n: number): string => n.toLocaleString('en-GB');

/** Overridden / (accepted + overridden), the complement view of the acceptance rate. */
export function overrideRate(r: Pick<ReportRow, 'accepted' | 'overridden'>): number | null {
  const answered = r.accepted + r.overridden;
  return answered > 0 ? r.overridden / answered : null;
}

function table(id: string, caption: string, head: string[], rows: string[][], numeric: boolean[]): string {
  const th = head.map((h, i) => `<th scope="col"${numeric[i] ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body =
    rows.length === 0
      ? `<tr><td colspan="${head.length}" class="empty">No data in this period.</td></tr>`
      : rows.map((cells) => `<tr>${cells.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table id="${id}"><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** A chart (or two) with its table beside it; the canvases are decoration for the table, hidden from screen readers. */
function section(id: string, title: string, lead: string, tableHtml: string, charts: string[] = [`${id}-chart`], wide = false): string {
  const canvases = charts.map((c) => `<div class="canvas-box"><canvas id="${c}"></canvas></div>`).join('');
  return `<section class="panel${wide ? ' wide' : ''}" id="${id}" aria-labelledby="${id}-title">
  <h2 id="${id}-title">${esc(title)}</h2>
  <p class="lead">${lead}</p>
  <div class="pair"><figure class="chart" aria-hidden="true">${canvases}</figure>${tableHtml}</div>
</section>`;
}

const svc = (serviceId: string): string => `<span class="svc">${esc(serviceId.replace(/^spine-cds-/, ''))}</span>`;
const topicCell = (topic: string): string => `${esc(topicDisplay(topic))}<br><code>${esc(topic)}</code>`;

export function renderPage(o: PageOptions): string {
  const r = o.report;
  const totals = r.rows.reduce(
    (t, row) => ({ issued: t.issued + row.cardsIssued, accepted: t.accepted + row.accepted, overridden: t.overridden + row.overridden, comments: t.comments + row.withComment }),
    { issued: 0, accepted: 0, overridden: 0, comments: 0 },
  );
  const calls = r.calls.reduce((t, c) => ({ calls: t.calls + c.calls, pf: t.pf + c.preconditionFailed }), { calls: 0, pf: 0 });
  const answered = totals.accepted + totals.overridden;

  const kpis: Array<[string, string, string]> = [
    ['kpi-issued', 'Cards issued', int(totals.issued)],
    ['kpi-acceptance', 'Acceptance', percent(answered > 0 ? totals.accepted / answered : null)],
    ['kpi-overridden', 'Cards overridden', int(totals.overridden)],
    ['kpi-calls', 'Service calls', int(calls.calls)],
    ['kpi-412', 'Answered 412', int(calls.pf)],
  ];

  const issuedTable = table(
    'issued-table',
    'Cards issued per day, service, topic and indicator',
    ['Day', 'Service', 'Topic', 'Indicator', 'Cards'],
    r.issuedByDay.map((d) => [esc(d.day), svc(d.serviceId), topicCell(d.topic), `<span class="ind ind-${esc(d.indicator)}">${esc(d.indicator)}</span>`, int(d.cards)]),
    [false, false, false, false, true],
  );
  const topicsTable = table(
    'topics-table',
    'Per service and topic: cards issued in the period and their feedback',
    ['Service', 'Topic', 'Issued', 'Patients', 'Accepted', 'Overridden', 'Acceptance', 'Override', 'With comment'],
    r.rows.map((row) => [
      svc(row.serviceId),
      topicCell(row.topic),
      int(row.cardsIssued),
      int(row.patients),
      int(row.accepted),
      int(row.overridden),
      percent(row.acceptanceRate),
      percent(overrideRate(row)),
      int(row.withComment),
    ]),
    [false, false, true, true, true, true, true, true, true],
  );
  const reasonsTable = table(
    'reasons-table',
    'Override reasons (cards), per service',
    ['Service', 'Reason', 'Code', 'Cards'],
    // A reason the service did not offer shows at most the EHR's code system, never its code.
    r.overrideReasons.map((x) => [svc(x.serviceId), esc(x.label), x.code ? `<code>${esc(x.code)}</code>` : x.system ? `from <code>${esc(x.system)}</code>` : '–', int(x.cards)]),
    [false, false, false, true],
  );
  const suggestionsTable = table(
    'suggestions-table',
    'Suggestions offered on cards of the period, and accepted, per type',
    ['Service', 'Suggestion type', 'Offered', 'Accepted'],
    r.suggestions.map((s) => [svc(s.serviceId), esc(s.type), int(s.offered), int(s.accepted)]),
    [false, false, true, true],
  );
  const gapsTable = table(
    'gaps-table',
    'Calls with a prefetch key missing: answered 412 (required) or with a data gap (optional)',
    ['Service', 'Prefetch key', '412', 'Data gap'],
    r.dataGaps.map((g) => [svc(g.serviceId), `<code>${esc(g.prefetchKey)}</code>`, int(g.preconditionFailed), int(g.unavailable)]),
    [false, false, true, true],
  );
  const latencyTable = table(
    'latency-table',
    'Service calls and time to answer (nearest-rank median and 95th percentile)',
    ['Service', 'Calls', 'OK', '412', 'Other errors', 'Median', 'p95'],
    r.calls.map((c) => [svc(c.serviceId), int(c.calls), int(c.ok), int(c.preconditionFailed), int(c.failed), ms(c.medianMs), ms(c.p95Ms)]),
    [false, true, true, true, true, true, true],
  );

  const periodOptions = PERIODS.map((d) => `<option value="${d}"${d === o.days ? ' selected' : ''}>Last ${d} days</option>`).join('');
  const customPeriod = (PERIODS as readonly number[]).includes(o.days) ? '' : `<option value="${o.days}" selected>Last ${o.days} days</option>`;
  const serviceOptions = ['', ...o.services]
    .map((s) => `<option value="${esc(s)}"${(r.serviceId ?? '') === s ? ' selected' : ''}>${s ? esc(s) : 'All services'}</option>`)
    .join('');
  // The figures for the charts, in a data block (not executed; `<` escaped so no value can close the tag).
  const data = JSON.stringify({ report: r, topicDisplay: Object.fromEntries(r.rows.map((row) => [row.topic, topicDisplay(row.topic)])) }).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>spine-cds · Card governance</title>
<link rel="stylesheet" href="/admin/assets/dashboard.css">
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true">◆</span> spine-cds <span class="sub">Card governance</span></div>
  <form class="filters" method="get" action="/admin">
    <label>Period <select name="days">${periodOptions}${customPeriod}</select></label>
    <label>Service <select name="service">${serviceOptions}</select></label>
    <button type="submit">Show</button>
  </form>
</header>
<main>
<p class="meta">Cards issued since <time id="since" datetime="${esc(r.since)}">${esc(r.since.slice(0, 16).replace('T', ' '))} UTC</time>,
and their feedback. Generated <time datetime="${esc(r.generatedAt)}">${esc(r.generatedAt.slice(0, 16).replace('T', ' '))} UTC</time>.
<a href="/admin/summary.json${esc(o.query)}">summary.json</a> · <a href="/admin/topics.csv${esc(o.query)}" download>per-topic table (CSV)</a></p>
<ul class="kpis">${kpis.map(([id, label, value]) => `<li><span class="kpi-label">${esc(label)}</span><span class="kpi-value" id="${id}">${esc(value)}</span></li>`).join('')}</ul>
${section('issued', 'Cards issued over time', 'By card topic, and by indicator. The table lists each day (UTC).', issuedTable, ['issued-chart', 'indicator-chart'])}
${section('topics', 'Acceptance and overrides per topic', 'Counts are cards. Acceptance = accepted / (accepted + overridden); override = overridden / (accepted + overridden); “–” when no card has feedback.', topicsTable, ['topics-chart'], true)}
${section('reasons', 'Override reasons', `The reasons this service offers, with its display text; any other code an EHR sends is counted as “Other reason”, by code system, its code and text never shown. ${int(totals.comments)} overridden card(s) carried a free-text comment: counted here, never shown.`, reasonsTable)}
${section('suggestions', 'Suggestions accepted per type', 'Type = what the suggestion does (its action and resource), not its wording.', suggestionsTable)}
${section('gaps', '412s and data gaps by prefetch key', 'Where the service lacked data: required keys missing (answered 412) and optional keys unavailable (the card says so).', gapsTable)}
${section('latency', 'Call latency', 'Time to answer each service call, as measured by the service; all calls of the period, errors included.', latencyTable)}
</main>
<footer>Counts only: no patient identifiers and no free text are stored for or shown on this page. See docs/dashboard.md.</footer>
<script type="application/json" id="dashboard-data">${data}</script>
<script src="/admin/assets/chart.umd.min.js"></script>
<script src="/admin/assets/dashboard.js"></script>
</body>
</html>
`;
}
