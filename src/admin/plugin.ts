import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { simpleOutcome } from '../http/problem.js';
import { offeredOverrideReasons, summaryJson } from '../storage/analytics.js';
import type { Report, Store } from '../storage/index.js';
import { adminAccess, type AdminAccessPolicy } from './access.js';
import { chartJsSource, DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import { overrideRate, renderPage } from './page.js';

/**
 * The governance dashboard (docs/dashboard.md): GET /admin (page), /admin/summary.json (the same
 * figures as `npm run report -- --json`), /admin/topics.csv (the per-topic table) and the page's
 * assets. One query layer (store.report) feeds all of them. The CDS Hooks JWT does not apply here
 * (src/auth/plugin.ts exempts /admin): access is ADMIN_TOKEN or loopback (access.ts).
 */
export interface AdminOptions extends AdminAccessPolicy {
  store: Store;
  /** The ids of the CDS services offered: the dashboard's service filter. */
  serviceIds: readonly string[];
  /**
   * The mappings the cards are built from (MAPPINGS_DIR, else the shipped ones): their override-reason
   * CodeSystem is what the cards offer, and only those reasons are named on the dashboard.
   */
  mappingsDir?: string;
}

export const DEFAULT_DAYS = 30;
const MAX_DAYS = 3660;
const DAY_MS = 86_400_000;

const querySchema = (serviceIds: readonly string[]) =>
  z.object({
    days: z.coerce.number().int().min(1).max(MAX_DAYS).default(DEFAULT_DAYS),
    service: z
      .string()
      .optional()
      .transform((s) => (s ? s : undefined))
      .refine((s) => s === undefined || serviceIds.includes(s), 'not a service of this CDS service'),
  });

/** The page's own script and style, and Chart.js: same origin only, no inline script. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export async function adminRoutes(app: FastifyInstance, opts: AdminOptions): Promise<void> {
  const QuerySchema = querySchema(opts.serviceIds);
  app.addHook('onRequest', async (request, reply) => {
    const access = adminAccess(opts, request.headers.authorization, request.socket.remoteAddress);
    if (access.ok) return;
    if (access.status === 401) reply.header('www-authenticate', 'Bearer realm="spine-cds admin"');
    // 404 looks like any unknown path: where the dashboard is off, it does not say that it exists.
    await reply.code(access.status).type('application/json').send(simpleOutcome(access.status, access.status === 401 ? 'Unauthorized' : `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    // Not for other origins' scripts: the EHR-facing CORS policy does not extend to the dashboard.
    reply.removeHeader('access-control-allow-origin');
    return payload;
  });

  const period = async (query: unknown, reply: FastifyReply): Promise<{ report: Report; days: number; query: string } | null> => {
    const parsed = QuerySchema.safeParse(query);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await reply.code(400).type('application/json').send(simpleOutcome(400, `Invalid dashboard query: ${detail} (days 1–${MAX_DAYS}, service one of ${opts.serviceIds.join(', ')})`));
      return null;
    }
    const { days, service } = parsed.data;
    // Cards and calls of the last few milliseconds are still queued: written first, so the figures are current.
    await opts.store.flush();
    const report = await opts.store.report({
      since: new Date(Date.now() - days * DAY_MS),
      ...(service ? { serviceId: service } : {}),
      offeredReasons: offeredOverrideReasons(opts.mappingsDir),
    });
    const params = new URLSearchParams({ days: String(days), ...(service ? { service } : {}) });
    return { report, days, query: `?${params.toString()}` };
  };

  app.get('/admin', async (request, reply) => {
    const view = await period(request.query, reply);
    if (!view) return reply;
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', PAGE_CSP)
      .send(renderPage({ ...view, services: [...opts.serviceIds] }));
  });

  app.get('/admin/summary.json', async (request, reply) => {
    const view = await period(request.query, reply);
    if (!view) return reply;
    return reply.type('application/json').send(summaryJson(view.report, opts.store.kind));
  });

  app.get('/admin/topics.csv', async (request, reply) => {
    const view = await period(request.query, reply);
    if (!view) return reply;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="spine-cds-topics-${view.days}d.csv"`)
      .send(topicsCsv(view.report));
  });

  const asset = (file: string, type: string, body: () => string): void => {
    app.get(`/admin/assets/${file}`, async (_request, reply) => reply.type(type).header('cache-control', 'private, max-age=3600').send(body()));
  };
  asset('chart.umd.min.js', 'text/javascript; charset=utf-8', chartJsSource);
  asset('dashboard.js', 'text/javascript; charset=utf-8', () => DASHBOARD_JS);
  asset('dashboard.css', 'text/css; charset=utf-8', () => DASHBOARD_CSS);
}

/** A spreadsheet must not run a cell as a formula (CSV injection): such cells get a leading apostrophe. */
function csvCell(value: string | number | null): string {
  let s = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function topicsCsv(report: Report): string {
  const head = ['service', 'topic', 'cards_issued', 'patients', 'accepted', 'overridden', 'acceptance_rate', 'override_rate', 'with_comment', 'top_override_reasons'];
  const rate = (r: number | null): string | null => (r === null ? null : r.toFixed(4));
  const lines = report.rows.map((r) =>
    [
      r.serviceId,
      r.topic,
      r.cardsIssued,
      r.patients,
      r.accepted,
      r.overridden,
      rate(r.acceptanceRate),
      rate(overrideRate(r)),
      r.withComment,
      r.topOverrideReasons.map((x) => `${x.label} (${x.cards})`).join('; '),
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[head.join(','), ...lines].join('\r\n')}\r\n`;
}
