import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../../scripts/report.js';
import { openStore } from '../../src/storage/index.js';
import { captureLogger, card, issued } from '../storage/contract.js';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';

const run = promisify(execFile);
const OWN_REASONS = 'https://fhir.spine-cds.org/CodeSystem/override-reason';
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** Seeds a store with a known mix of cards and feedback. */
async function seed(databaseUrl: string): Promise<void> {
  const store = await openStore(databaseUrl, { logger: captureLogger().logger, retentionDays: 400 });
  const low = [card('low-value-imaging'), card('low-value-imaging'), card('low-value-imaging')];
  store.cardsIssued(issued(low, 'p1'));
  const ces = card('cauda-equina', 'critical');
  store.cardsIssued(issued([ces], 'p2', { serviceId: 'spine-cds-patient-view', hook: 'patient-view' }));
  const now = new Date().toISOString();
  await store.recordFeedback('spine-cds-order-sign', [
    { card: low[0]!.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: low[0]!.suggestions![0]!.uuid }], outcomeTimestamp: now },
    { card: low[1]!.uuid, outcome: 'overridden', overrideReason: { reason: { code: 'patient-preference', display: 'Patient preference' } }, outcomeTimestamp: now },
    // A plain dismissal: no reason, no comment (issue 15 §7: was counted as "(comment only)").
    { card: low[2]!.uuid, outcome: 'overridden', outcomeTimestamp: now },
  ]);
  // The service's own code with no display text (issue 15 §7: was shown as the bare code).
  await store.recordFeedback('spine-cds-patient-view', [
    { card: ces.uuid, outcome: 'overridden', overrideReason: { reason: { system: OWN_REASONS, code: 'already-arranged' }, userComment: 'free text that must not be shown' }, outcomeTimestamp: now },
  ]);
  await store.close();
}

async function report(databaseUrl: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(tsx, ['scripts/report.ts', ...args], { env: { ...process.env, DATABASE_URL: databaseUrl }, encoding: 'utf8' });
  return stdout;
}

function expectSeededReport(json: string): void {
  const parsed = JSON.parse(json) as { rows: Array<Record<string, unknown>> };
  expect(parsed.rows).toEqual([
    {
      serviceId: 'spine-cds-order-sign',
      topic: 'low-value-imaging',
      cardsIssued: 3,
      patients: 1,
      accepted: 1,
      overridden: 2,
      acceptanceRate: 1 / 3,
      topOverrideReasons: [
        { label: '(no reason given)', cards: 1 },
        // A code the service does not offer: counted, its code and display never shown.
        { label: 'Other reason (not offered by this service)', cards: 1 },
      ],
      withComment: 0,
    },
    expect.objectContaining({
      serviceId: 'spine-cds-patient-view',
      topic: 'cauda-equina',
      cardsIssued: 1,
      acceptanceRate: 0,
      topOverrideReasons: [{ label: 'Already arranged or done elsewhere', system: OWN_REASONS, code: 'already-arranged', cards: 1 }],
      withComment: 1,
    }),
  ]);
  expect(json).not.toContain('free text');
  expect(json).not.toMatch(/patient-preference|Patient preference/);
}

describe('npm run report (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spine-report-'));
  const url = `sqlite:${join(dir, 'spine-cds.db')}`;
  beforeAll(() => seed(url));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints per service and topic: issued, accepted, overridden with top reasons, acceptance rate', async () => {
    const text = await report(url, '--since', '30d');
    expect(text).toMatch(/spine-cds-order-sign\s+low-value-imaging\s+3\s+1\s+1\s+2\s+33%/);
    expect(text).toContain('top override reasons: (no reason given) (1), Other reason (not offered by this service) (1)');
    expect(text).toMatch(/spine-cds-patient-view\s+cauda-equina\s+1\s+1\s+0\s+1\s+0%/);
    expect(text).toContain('top override reasons: Already arranged or done elsewhere (1)');
    expect(text).not.toContain('(comment only)');
    expect(text).not.toContain('free text');
    expect(text).toContain('1 overridden card(s) carried a free-text comment (counted, never shown).');
  });

  it('--json gives the same as JSON', async () => {
    expectSeededReport(await report(url, '--since', '30d', '--json'));
  });

  it('a missing database file is an error, not a new empty database', async () => {
    await expect(run(tsx, ['scripts/report.ts', '--database-url', `sqlite:${join(dir, 'absent.db')}`])).rejects.toMatchObject({ code: 1 });
  });
});

describe.skipIf(!postgresAvailability().available)('npm run report (PostgreSQL)', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
    await seed(server.url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads the PostgreSQL store the same way', async () => {
    expectSeededReport(await report(server.url, '--json'));
  });
});

describe('--since', () => {
  const now = new Date('2026-11-21T00:00:00Z');
  it('accepts durations and dates, and refuses the rest', () => {
    expect(parseSince('30d', now).toISOString()).toBe('2026-10-22T00:00:00.000Z');
    expect(parseSince('12h', now).toISOString()).toBe('2026-11-20T12:00:00.000Z');
    expect(parseSince('2w', now).toISOString()).toBe('2026-11-07T00:00:00.000Z');
    expect(parseSince('2026-10-01', now).toISOString()).toBe('2026-10-01T00:00:00.000Z');
    expect(() => parseSince('3 months', now)).toThrow(/expected a duration/);
  });
});
