import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/storage/index.js';
import { startService, type RunningService } from '../support/service.js';
import { EHR_LOCAL_REASON, EHR_LOCAL_REASON_LEAKS, SECRET_COMMENT, seedThroughHttp, type Seeded } from './seed.js';

/**
 * The dashboard's figures over real HTTP on a real SQLite file, seeded through real hook calls and
 * the real feedback endpoint; the CLI reads the same file and must print the same figures.
 */
const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
// The fixtures are dated; ten years covers them for as long as this code lives.
const ALL = '?days=3660';

const dir = mkdtempSync(join(tmpdir(), 'spine-admin-'));
const dbFile = join(dir, 'spine-cds.db');
let svc: RunningService;
let seeded: Seeded;
let summary: Report & { database: string };

const get = async (path: string): Promise<Response> => fetch(`${svc.baseUrl}${path}`);
/** What varies between two reads of the same data: the clock. */
const figures = (r: Record<string, unknown>): Record<string, unknown> => {
  const { since: _s, generatedAt: _g, database: _d, ...rest } = r;
  return rest;
};

beforeAll(async () => {
  let now = new Date();
  svc = await startService({ DATABASE_URL: `sqlite:${dbFile}` }, { now: () => now });
  seeded = await seedThroughHttp(svc.baseUrl, (iso) => (now = new Date(iso)));
  summary = (await (await get(`/admin/summary.json${ALL}`)).json()) as Report & { database: string };
});
afterAll(async () => {
  await svc?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /admin/summary.json (SQLite, seeded over HTTP)', () => {
  it('counts every issued card, per service and topic', () => {
    expect(seeded.feedbackStored).toBe(6);
    const expected = new Map<string, number>();
    for (const c of seeded.cards) {
      const key = `${(c as unknown as { serviceId: string }).serviceId}|${c.source.topic?.code ?? '(no topic)'}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const issued = new Map(summary.rows.filter((r) => r.cardsIssued > 0).map((r) => [`${r.serviceId}|${r.topic}`, r.cardsIssued]));
    expect(issued).toEqual(expected);
    const byDay = summary.issuedByDay.reduce((n, d) => n + d.cards, 0);
    expect(byDay).toBe(seeded.cards.length);
  });

  it('override reasons: the service display for its codes, comment-only and plain dismissals apart, comments counted never shown', () => {
    const labels = summary.overrideReasons.map((r) => r.label);
    expect(labels).toEqual(expect.arrayContaining(['Patient declined', '(comment only)', '(no reason given)', 'Already arranged or done elsewhere']));
    expect(summary.overrideReasons.find((r) => r.label === 'Patient declined')).toMatchObject({ code: 'patient-declined', cards: 1 });
    expect(summary.rows.reduce((n, r) => n + r.withComment, 0)).toBe(1);
    expect(summary.rows.find((r) => r.topic === '(unknown card)')).toMatchObject({ overridden: 1, cardsIssued: 0 });
    expect(JSON.stringify(summary)).not.toContain('MRN');
  });

  it('suggestions accepted per type, 412s and data gaps per prefetch key, call latency', () => {
    expect(summary.suggestions.reduce((n, s) => n + s.accepted, 0)).toBe(1);
    expect(summary.suggestions.every((s) => s.offered >= s.accepted && !/^(Order|Withdraw) /.test(s.type))).toBe(true);
    expect(summary.dataGaps).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ prefetchKey: 'conditions', preconditionFailed: 1, unavailable: 0 }),
        expect.objectContaining({ prefetchKey: 'procedures', preconditionFailed: 0, unavailable: 1 }),
      ]),
    );
    const calls = summary.calls.reduce((n, c) => n + c.calls, 0);
    expect(calls).toBe(7);
    expect(summary.calls.reduce((n, c) => n + c.preconditionFailed, 0)).toBe(1);
    for (const c of summary.calls) {
      expect(c.medianMs).toBeGreaterThan(0);
      expect(c.p95Ms).toBeGreaterThanOrEqual(c.medianMs!);
    }
  });

  it('is what `npm run report -- --json` prints for the same period', async () => {
    const { stdout } = await run(tsx, ['scripts/report.ts', '--since', '3660d', '--json'], { env: { ...process.env, DATABASE_URL: `sqlite:${dbFile}` }, encoding: 'utf8' });
    expect(figures(JSON.parse(stdout) as Record<string, unknown>)).toEqual(figures(summary as unknown as Record<string, unknown>));
  });

  it('limits to one service when asked, and refuses an unknown service or period with a 400', async () => {
    const one = (await (await get(`/admin/summary.json${ALL}&service=spine-cds-patient-view`)).json()) as Report;
    expect(one.serviceId).toBe('spine-cds-patient-view');
    expect([...one.rows, ...one.calls, ...one.dataGaps].every((r) => r.serviceId === 'spine-cds-patient-view')).toBe(true);
    for (const bad of ['?service=nope', '?days=0', '?days=abc', '?days=99999']) {
      const res = await get(`/admin/summary.json${bad}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    }
  });
});

describe('override reasons the service did not offer (an EHR-local code naming the patient)', () => {
  const OTHER = 'Other reason (not offered by this service)';
  const leaks = (text: string): string[] => EHR_LOCAL_REASON_LEAKS.filter((fragment) => text.includes(fragment));

  it('are counted in one bucket that shows at most their system, never their code or display', () => {
    const other = summary.overrideReasons.filter((r) => r.label === OTHER);
    expect(other).toEqual([expect.objectContaining({ label: OTHER, system: EHR_LOCAL_REASON.system, cards: 1 })]);
    expect(other[0]).not.toHaveProperty('code');
    const row = summary.rows.find((r) => r.topOverrideReasons.some((x) => x.label === OTHER));
    expect(row?.overridden).toBeGreaterThanOrEqual(1);
  });

  it('leave no trace of the patient on the page, summary.json, topics.csv or the report (JSON and text)', async () => {
    const page = await (await get(`/admin${ALL}`)).text();
    const json = await (await get(`/admin/summary.json${ALL}`)).text();
    const csv = await (await get(`/admin/topics.csv${ALL}`)).text();
    const env = { ...process.env, DATABASE_URL: `sqlite:${dbFile}` };
    const reportJson = (await run(tsx, ['scripts/report.ts', '--since', '3660d', '--json'], { env, encoding: 'utf8' })).stdout;
    const reportText = (await run(tsx, ['scripts/report.ts', '--since', '3660d'], { env, encoding: 'utf8' })).stdout;
    expect({ page: leaks(page), json: leaks(json), csv: leaks(csv), reportJson: leaks(reportJson), reportText: leaks(reportText) }).toEqual({
      page: [],
      json: [],
      csv: [],
      reportJson: [],
      reportText: [],
    });
    for (const text of [page, csv, reportText]) expect(text).toContain(OTHER);
  });
});

describe('GET /admin and /admin/topics.csv', () => {
  it('the page has every table, defaults to 30 days, loads Chart.js from the service, and shows no free text', async () => {
    const res = await get('/admin');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    for (const id of ['issued-table', 'topics-table', 'reasons-table', 'suggestions-table', 'gaps-table', 'latency-table']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('<option value="30" selected>');
    expect(html).toMatch(/<script src="\/admin\/assets\/chart\.umd\.min\.js">/);
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
    const full = await (await get(`/admin${ALL}`)).text();
    expect(full).not.toContain(SECRET_COMMENT);
    expect(full).not.toContain('MRN');
    const chart = await get('/admin/assets/chart.umd.min.js');
    expect(chart.status).toBe(200);
    expect(await chart.text()).toContain('Chart');
  });

  it('the CSV has the per-topic table, one line per row of summary.json', async () => {
    const res = await get(`/admin/topics.csv${ALL}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="spine-cds-topics-3660d\.csv"/);
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('service,topic,cards_issued,patients,accepted,overridden,acceptance_rate,override_rate,with_comment,top_override_reasons');
    expect(lines).toHaveLength(summary.rows.length + 1);
    for (const [i, r] of summary.rows.entries()) {
      expect(lines[i + 1]!.startsWith(`${r.serviceId},${r.topic},${r.cardsIssued},${r.patients},${r.accepted},${r.overridden},`)).toBe(true);
    }
    expect(lines.join('\n')).not.toContain(SECRET_COMMENT);
  });
});
