import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The dashboard's static files. Chart.js comes from the service's own node_modules (hospital
 * networks are closed: no CDN). The page's own script and style are kept here as text, so they ship
 * inside the compiled service (the image carries dist/, not src/) with nothing to copy.
 */
let chartJs: string | undefined;
export function chartJsSource(): string {
  // The package exports only its module entry points; the UMD build sits beside them in dist/.
  chartJs ??= readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

/** Draws every chart from the figures embedded in the page (#dashboard-data); the tables carry the same numbers. */
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var data = JSON.parse(document.getElementById('dashboard-data').textContent);
  var r = data.report;
  var names = data.topicDisplay || {};
  var PALETTE = ['#2563eb', '#0d9488', '#d97706', '#7c3aed', '#db2777', '#65a30d', '#0891b2', '#dc2626', '#4b5563', '#ca8a04', '#9333ea', '#059669'];
  var INDICATOR = { critical: '#b91c1c', warning: '#d97706', info: '#2563eb' };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#334155';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.datasets.bar.maxBarThickness = 26;

  function uniq(list) { return list.filter(function (x, i) { return list.indexOf(x) === i; }); }
  function short(s) { return s.replace(/^spine-cds-/, ''); }
  // Days for a short period; weeks (from Monday) beyond three months; months beyond a year and a bit.
  var spanDays = Math.ceil((new Date(r.generatedAt) - new Date(r.since)) / 86400000);
  var bucketOf = spanDays > 400 ? function (day) { return day.slice(0, 7); }
    : spanDays > 92 ? function (day) { var d = new Date(day + 'T00:00:00Z'); d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7)); return d.toISOString().slice(0, 10); }
    : function (day) { return day; };
  function buckets() {
    // Every bucket of the period, so quiet days show as gaps rather than disappearing.
    var out = [];
    var d = new Date(r.since.slice(0, 10) + 'T00:00:00Z');
    var end = new Date(r.generatedAt);
    while (d <= end) { var b = bucketOf(d.toISOString().slice(0, 10)); if (out.indexOf(b) < 0) out.push(b); d = new Date(d.getTime() + 86400000); }
    return out;
  }
  function draw(id, config) {
    var el = document.getElementById(id);
    if (!el) return;
    el.closest('figure').classList.add('drawn');
    new Chart(el, config);
  }
  function stackedByDay(id, keyOf, colourOf, labelOf, title) {
    var labels = buckets();
    var keys = uniq(r.issuedByDay.map(keyOf)).sort();
    var datasets = keys.map(function (k, i) {
      var counts = labels.map(function () { return 0; });
      r.issuedByDay.forEach(function (d) { var at = labels.indexOf(bucketOf(d.day)); if (keyOf(d) === k && at >= 0) counts[at] += d.cards; });
      return { label: labelOf(k), data: counts, backgroundColor: colourOf(k, i), borderWidth: 0, maxBarThickness: 28 };
    });
    var unit = spanDays > 400 ? 'month' : spanDays > 92 ? 'week from' : 'day';
    draw(id, {
      type: 'bar',
      data: { labels: labels.map(function (d) { return unit === 'month' ? d : d.slice(5); }), datasets: datasets },
      options: { plugins: { title: { display: true, text: title + ' (per ' + unit + ', UTC)' } }, scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
  stackedByDay('issued-chart', function (d) { return d.topic; }, function (k, i) { return PALETTE[i % PALETTE.length]; }, function (k) { return names[k] || k; }, 'By topic');
  stackedByDay('indicator-chart', function (d) { return d.indicator; }, function (k) { return INDICATOR[k] || '#64748b'; }, function (k) { return k; }, 'By indicator');

  var multi = uniq(r.rows.map(function (x) { return x.serviceId; })).length > 1;
  var rowLabel = function (x) { var t = names[x.topic] || x.topic; return multi ? [t, short(x.serviceId)] : t; };
  draw('topics-chart', {
    type: 'bar',
    data: {
      labels: r.rows.map(rowLabel),
      datasets: [
        { label: 'Accepted', data: r.rows.map(function (x) { return x.accepted; }), backgroundColor: '#0d9488' },
        { label: 'Overridden', data: r.rows.map(function (x) { return x.overridden; }), backgroundColor: '#d97706' },
        { label: 'No feedback', data: r.rows.map(function (x) { return Math.max(0, x.cardsIssued - x.accepted - x.overridden); }), backgroundColor: '#cbd5e1' },
      ],
    },
    options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, grid: { display: false } } } },
  });

  function horizontal(id, labels, datasets) {
    draw(id, { type: 'bar', data: { labels: labels, datasets: datasets }, options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } } } });
  }
  var svcLabel = function (label, serviceId) { return multi ? [label, short(serviceId)] : label; };
  // Reasons the service did not offer have one bar per EHR code system: the system tells them apart.
  horizontal('reasons-chart', r.overrideReasons.map(function (x) { return svcLabel(x.code || !x.system ? x.label : x.label + ' (' + x.system + ')', x.serviceId); }), [
    { label: 'Cards', data: r.overrideReasons.map(function (x) { return x.cards; }), backgroundColor: '#d97706' },
  ]);
  horizontal('suggestions-chart', r.suggestions.map(function (x) { return svcLabel(x.type, x.serviceId); }), [
    { label: 'Offered', data: r.suggestions.map(function (x) { return x.offered; }), backgroundColor: '#94a3b8' },
    { label: 'Accepted', data: r.suggestions.map(function (x) { return x.accepted; }), backgroundColor: '#0d9488' },
  ]);
  horizontal('gaps-chart', r.dataGaps.map(function (x) { return svcLabel(x.prefetchKey, x.serviceId); }), [
    { label: '412 (required key)', data: r.dataGaps.map(function (x) { return x.preconditionFailed; }), backgroundColor: '#b91c1c' },
    { label: 'Data gap (optional key)', data: r.dataGaps.map(function (x) { return x.unavailable; }), backgroundColor: '#f59e0b' },
  ]);
  draw('latency-chart', {
    type: 'bar',
    data: {
      labels: r.calls.map(function (x) { return short(x.serviceId); }),
      datasets: [
        { label: 'Median (ms)', data: r.calls.map(function (x) { return x.medianMs; }), backgroundColor: '#2563eb' },
        { label: 'p95 (ms)', data: r.calls.map(function (x) { return x.p95Ms; }), backgroundColor: '#93c5fd' },
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } }, x: { grid: { display: false } } } },
  });
  document.documentElement.setAttribute('data-charts', 'drawn');
})();
`;

export const DASHBOARD_CSS = `
:root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --panel: #ffffff; --accent: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; justify-content: space-between; padding: 14px 28px; background: #0f172a; color: #f8fafc; }
.brand { font-size: 18px; font-weight: 650; letter-spacing: .2px; }
.brand .logo { color: #60a5fa; margin-right: 4px; }
.brand .sub { font-weight: 400; color: #cbd5e1; margin-left: 8px; padding-left: 10px; border-left: 1px solid #334155; }
.filters { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.filters label { font-size: 13px; color: #cbd5e1; display: flex; gap: 6px; align-items: center; }
.filters select, .filters button { font: inherit; padding: 5px 8px; border-radius: 6px; border: 1px solid #334155; background: #1e293b; color: #f8fafc; }
.filters button { background: var(--accent); border-color: var(--accent); cursor: pointer; padding: 5px 14px; }
main { max-width: 1440px; margin: 0 auto; padding: 18px 28px 8px; }
.meta { color: var(--muted); margin: 0 0 14px; }
.meta a { color: var(--accent); }
.kpis { list-style: none; padding: 0; margin: 0 0 18px; display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.kpis li { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; display: flex; flex-direction: column; }
.kpi-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.kpi-value { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px 18px; margin: 0 0 16px; }
.panel h2 { font-size: 16px; margin: 0 0 2px; }
.lead { color: var(--muted); margin: 0 0 12px; font-size: 13px; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 20px; align-items: start; }
.panel.wide .pair { grid-template-columns: 1fr; }
@media (max-width: 1000px) { .pair { grid-template-columns: 1fr; } }
figure.chart { margin: 0; display: grid; gap: 8px; }
.canvas-box { position: relative; height: 260px; }
.panel.wide .canvas-box { height: 300px; }
.panel.wide .table-wrap { max-height: none; }
#issued-table td:first-child { white-space: nowrap; }
.table-wrap { max-height: 340px; overflow: auto; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
caption { text-align: left; font-size: 12px; color: var(--muted); padding: 6px 10px; caption-side: top; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f1f5f9; font-weight: 600; font-size: 12px; color: #334155; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code { font-size: 11px; color: var(--muted); }
td.empty { color: var(--muted); text-align: center; padding: 18px; }
tbody tr:nth-child(even) { background: #fafcff; }
.svc { display: inline-block; padding: 0 6px; border-radius: 4px; background: #eef2ff; color: #3730a3; font-size: 12px; white-space: nowrap; }
.ind { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px; }
.ind-critical { background: #fee2e2; color: #991b1b; } .ind-warning { background: #fef3c7; color: #92400e; } .ind-info { background: #dbeafe; color: #1e40af; }
footer { max-width: 1440px; margin: 0 auto; padding: 6px 28px 24px; color: var(--muted); font-size: 12px; }
`;
