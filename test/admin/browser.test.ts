import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/storage/index.js';
import { REPO_ROOT } from '../support/process.js';
import { startService, type RunningService } from '../support/service.js';
import { SECRET_COMMENT, seedThroughHttp } from './seed.js';

/**
 * The dashboard in a real browser: Debian's chromium (the Playwright download is not reachable
 * here), driven by playwright-core. CI installs chromium (.ci/run); with CI=true a missing browser
 * fails this file, elsewhere it is skipped with a loud warning.
 * The screenshot is kept as a CI artefact: test-artifacts/admin-dashboard.png (gitignored).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
export const SCREENSHOT = join(REPO_ROOT, 'test-artifacts', 'admin-dashboard.png');
const TOKEN = 'browser-test-admin-token-0123456789abcdef';

interface CanvasLike {
  id: string;
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

/** Never throws: a failed screenshot must not hide the failure it was meant to show. */
async function keepScreenshot(page: Page): Promise<void> {
  try {
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } catch (err) {
    console.warn(`admin browser test: no screenshot (${(err as Error).message})`);
  }
}

if (!available && process.env.CI !== 'true') {
  console.warn(`\n*** SKIPPED: the /admin real-browser test needs chromium at ${CHROMIUM} (apt-get install chromium). CI installs it and fails without it. ***\n`);
}

describe.skipIf(!available && process.env.CI !== 'true')('/admin in Chromium', () => {
  let svc: RunningService;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let dbDir: string;
  const problems: string[] = [];
  /** A period that just covers the fixtures' dates, so the screenshot shows days, whatever today is. */
  let view = '';

  const n = (s: string): number => Number(s.replace(/[,\sms]/g, ''));
  const pct = (rate: number | null): string => (rate === null ? '–' : `${(rate * 100).toFixed(1)}%`);
  const short = (id: string): string => id.replace(/^spine-cds-/, '');
  const table = (id: string): Promise<string[][]> =>
    page.$$eval(`#${id} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td.querySelector('code')?.textContent ?? td.textContent ?? '').trim())));
  /**
   * The per-topic table on the page, acceptance and override columns included, holds the figures of
   * summary.json for the same query; the override rate is worked out here from the counts.
   */
  const expectTopicsAsSummary = async (query: string): Promise<Report> => {
    const summary = (await (await page.request.get(`${svc.baseUrl}/admin/summary.json${query}`)).json()) as Report;
    const overrideRate = (r: Report['rows'][number]): number | null => (r.accepted + r.overridden > 0 ? r.overridden / (r.accepted + r.overridden) : null);
    const topics = await table('topics-table');
    expect(topics.map((t) => [t[0], t[1], n(t[2]!), n(t[3]!), n(t[4]!), n(t[5]!), t[6], t[7], n(t[8]!)])).toEqual(
      summary.rows.map((r) => [short(r.serviceId), r.topic, r.cardsIssued, r.patients, r.accepted, r.overridden, pct(r.acceptanceRate), pct(overrideRate(r)), r.withComment]),
    );
    return summary;
  };

  beforeAll(async () => {
    if (!available) throw new Error(`CI=true and no chromium at ${CHROMIUM}: .ci/run installs it from Debian`);
    dbDir = mkdtempSync(join(tmpdir(), 'spine-admin-browser-'));
    let now = new Date();
    svc = await startService({ DATABASE_URL: `sqlite:${join(dbDir, 'spine-cds.db')}`, ADMIN_TOKEN: TOKEN }, { now: () => now });
    const seeded = await seedThroughHttp(svc.baseUrl, (iso) => (now = new Date(iso)));
    view = `?days=${Math.max(14, Math.ceil((Date.now() - seeded.earliest.getTime()) / 86_400_000) + 2)}`;
    profile = mkdtempSync(join(tmpdir(), 'spine-chromium-profile-'));
    // Playwright adds --headless and the profile directory (--user-data-dir) itself.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1000 },
      // Every request of the page (assets included) carries the token, as a hospital's proxy would add it.
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning' ? problems.push(`${m.type()}: ${m.text()}`) : undefined));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    // Nothing may load from elsewhere: no CDN.
    page.on('request', (r) => (r.url().startsWith(svc.baseUrl) ? undefined : problems.push(`off-site request: ${r.url()}`)));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await svc?.close();
    for (const d of [profile, dbDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('draws every chart, shows the numbers of summary.json, and keeps a screenshot', async () => {
    const response = await page.goto(`${svc.baseUrl}/admin${view}`);
    try {
      expect(response?.status()).toBe(200);
      await page.waitForSelector('html[data-charts="drawn"]', { timeout: 30_000 });
    } finally {
      // As soon as the charts are drawn, or once waiting for them failed: a failing run keeps its picture too.
      await keepScreenshot(page);
    }

    // Charts: one canvas per chart, each with a Chart.js chart on it and pixels drawn.
    const charts = await page.$$eval('canvas', (list) =>
      list.map((element) => {
        // The test's tsconfig has no DOM library: the browser-side shapes are spelled out here.
        const c = element as unknown as CanvasLike;
        const chart = (globalThis as unknown as { Chart: { getChart(el: CanvasLike): unknown } }).Chart.getChart(c);
        const ctx = c.getContext('2d');
        const pixels = ctx.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) painted += 1;
        return { id: c.id, chart: Boolean(chart), width: c.width, painted };
      }),
    );
    expect(charts.map((c) => c.id).sort()).toEqual(['gaps-chart', 'indicator-chart', 'issued-chart', 'latency-chart', 'reasons-chart', 'suggestions-chart', 'topics-chart']);
    for (const c of charts) {
      expect(c.chart, c.id).toBe(true);
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.painted, c.id).toBeGreaterThan(500);
    }

    const summary = (await (await page.request.get(`${svc.baseUrl}/admin/summary.json${view}`)).json()) as Report;

    await expectTopicsAsSummary(view);
    const issued = await table('issued-table');
    expect(issued.map((t) => [t[0], t[2], t[3], n(t[4]!)])).toEqual(summary.issuedByDay.map((d) => [d.day, d.topic, d.indicator, d.cards]));
    const reasons = await table('reasons-table');
    expect(reasons.map((t) => [t[1], n(t[3]!)])).toEqual(summary.overrideReasons.map((r) => [r.label, r.cards]));
    const suggestions = await table('suggestions-table');
    expect(suggestions.map((t) => [t[1], n(t[2]!), n(t[3]!)])).toEqual(summary.suggestions.map((s) => [s.type, s.offered, s.accepted]));
    const gaps = await table('gaps-table');
    expect(gaps.map((t) => [t[1], n(t[2]!), n(t[3]!)])).toEqual(summary.dataGaps.map((g) => [g.prefetchKey, g.preconditionFailed, g.unavailable]));
    const latency = await table('latency-table');
    expect(latency.map((t) => [t[0], n(t[1]!), n(t[3]!), n(t[5]!), n(t[6]!)])).toEqual(
      summary.calls.map((c) => [short(c.serviceId), c.calls, c.preconditionFailed, c.medianMs, c.p95Ms]),
    );
    const issuedTotal = summary.rows.reduce((s, r) => s + r.cardsIssued, 0);
    expect(n((await page.textContent('#kpi-issued'))!)).toBe(issuedTotal);

    const text = await page.textContent('body');
    expect(text).not.toContain(SECRET_COMMENT);

    expect(existsSync(SCREENSHOT)).toBe(true);
    // No script error, no CSP violation, nothing fetched from another origin.
    expect(problems).toEqual([]);
  }, 120_000);

  it('the period selector reloads the figures of the chosen period, equal to its summary.json', async () => {
    await page.goto(`${svc.baseUrl}/admin${view}`);
    await page.waitForSelector('html[data-charts="drawn"]');
    const issuedIn: Record<string, number> = {};
    for (const days of ['7', '365']) {
      await page.selectOption('select[name="days"]', days);
      await Promise.all([page.waitForURL(new RegExp(`[?&]days=${days}(&|$)`)), page.click('button[type="submit"]')]);
      await page.waitForSelector('html[data-charts="drawn"]');
      expect(await page.$eval('select[name="days"]', (el) => (el as unknown as { value: string }).value)).toBe(days);
      const summary = await expectTopicsAsSummary(`?days=${days}&service=`);
      issuedIn[days] = summary.rows.reduce((sum, r) => sum + r.cardsIssued, 0);
      expect(n((await page.textContent('#kpi-issued'))!)).toBe(issuedIn[days]);
    }
    expect(issuedIn['365']).toBeGreaterThanOrEqual(issuedIn['7']!);
    expect(problems).toEqual([]);
  }, 60_000);

  it('the period and service form narrows the figures', async () => {
    await page.goto(`${svc.baseUrl}/admin${view}`);
    await page.selectOption('select[name="service"]', 'spine-cds-patient-view');
    await Promise.all([page.waitForURL(/service=spine-cds-patient-view/), page.click('button[type="submit"]')]);
    await page.waitForSelector('html[data-charts="drawn"]');
    const services = await page.$$eval('#latency-table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent?.trim()));
    expect(services).toEqual(['patient-view']);
    expect(problems).toEqual([]);
  }, 60_000);
});
