import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createLogger } from '../src/http/logger.js';
import { offeredOverrideReasons, summaryJson } from '../src/storage/analytics.js';
import { describeDatabaseUrl, openStore, type Report } from '../src/storage/index.js';

/**
 * npm run report -- [--since 30d|12h|2w|2026-10-01] [--service ID] [--json] [--database-url URL]
 *
 * Per service and card topic: cards issued, accepted, overridden (with the top override reasons)
 * and the acceptance rate, for cards issued since the date; then calls, latency and prefetch gaps.
 * The figures are those of GET /admin/summary.json (the same query layer, src/storage/analytics.ts). Reads either store; DATABASE_URL (or
 * --database-url) selects it exactly as it does for the service. Read-only in effect: it runs no
 * retention purge and will not create a missing SQLite file.
 */
const USAGE =
  'usage: npm run report -- [--since 30d|12h|2w|YYYY-MM-DD|ISO instant] [--service <service id>] [--json] [--database-url sqlite:<path>|postgres://…]';
/** The service's default (src/config/config.ts); repeated here so the command needs no service configuration. */
const DEFAULT_DATABASE_URL = 'sqlite:./data/spine-cds.db';

export function parseSince(value: string, now = new Date()): Date {
  const relative = /^(\d+)([hdw])$/.exec(value);
  if (relative) {
    const hours = { h: 1, d: 24, w: 24 * 7 }[relative[2] as 'h' | 'd' | 'w'];
    return new Date(now.getTime() - Number(relative[1]) * hours * 3_600_000);
  }
  if (/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new Error(`--since "${value}": expected a duration like 30d, 12h, 2w, or a date like 2026-10-01`);
}

export function formatReport(report: Report, database: string): string {
  const pct = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`);
  const header = ['service', 'topic', 'issued', 'patients', 'accepted', 'overridden', 'acceptance'];
  const table = report.rows.map((r) => [
    r.serviceId,
    r.topic,
    String(r.cardsIssued),
    String(r.patients),
    String(r.accepted),
    String(r.overridden),
    pct(r.acceptanceRate),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [`Card feedback for cards issued since ${report.since} (${database}; generated ${report.generatedAt})`, ''];
  if (report.rows.length === 0) return [...out, 'No cards issued and no feedback in this period.'].join('\n');
  out.push(line(header), line(widths.map((w) => '-'.repeat(w))));
  for (const [i, r] of report.rows.entries()) {
    out.push(line(table[i]!));
    if (r.topOverrideReasons.length > 0) {
      out.push(`    top override reasons: ${r.topOverrideReasons.map((x) => `${x.label} (${x.cards})`).join(', ')}`);
    }
  }
  const comments = report.rows.reduce((n, r) => n + r.withComment, 0);
  out.push('', 'Counts are cards. acceptance = accepted / (accepted + overridden); "-" when no card has feedback.');
  if (comments > 0) out.push(`${comments} overridden card(s) carried a free-text comment (counted, never shown).`);
  if (report.calls.length > 0) {
    out.push('', 'Service calls:');
    for (const c of report.calls) {
      const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
      out.push(`  ${c.serviceId}: ${c.calls} calls, ${c.ok} ok, ${c.preconditionFailed} answered 412, ${c.failed} other errors; median ${ms(c.medianMs)}, p95 ${ms(c.p95Ms)}`);
    }
  }
  if (report.dataGaps.length > 0) {
    out.push('', 'Missing prefetch keys:');
    for (const g of report.dataGaps) out.push(`  ${g.serviceId} ${g.prefetchKey}: ${g.preconditionFailed} answered 412, ${g.unavailable} data gap(s)`);
  }
  return out.join('\n');
}

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        since: { type: 'string', default: '30d' },
        json: { type: 'boolean', default: false },
        service: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let since: Date;
  try {
    since = parseSince(args.since);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const databaseUrl = args['database-url'] || env.DATABASE_URL || DEFAULT_DATABASE_URL;
  // Logs go to stderr so that --json output on stdout stays parseable.
  const logger = createLogger('warn', pino.destination(2));
  let store;
  try {
    store = await openStore(databaseUrl, { logger, retentionDays: 0, maintenance: false, mustExist: true });
  } catch (err) {
    process.stderr.write(`report: cannot open ${describeDatabaseUrl(databaseUrl)}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    // The reasons named are those of the service's mappings (MAPPINGS_DIR, as for the service): any
    // other reason is counted, never named, exactly as on /admin.
    const offeredReasons = offeredOverrideReasons(env.MAPPINGS_DIR || undefined);
    const report = await store.report({ since, ...(args.service ? { serviceId: args.service } : {}), offeredReasons });
    const database = describeDatabaseUrl(databaseUrl);
    process.stdout.write(args.json ? `${JSON.stringify(summaryJson(report, database), null, 2)}\n` : `${formatReport(report, database)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

// Run only as a command, so tests can import parseSince and formatReport.
const invokedDirectly = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`report: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
