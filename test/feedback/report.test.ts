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
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');

/** Seeds a store with a known mix of cards and feedback. */
async function seed(databaseUrl: string): Promise<void> {
  const store = await openStore(databaseUrl, { logger: captureLogger().logger, retentionDays: 400 });
  const low = [card('low-value-imaging'), card('low-value-imaging'), card('low-value-imaging')];
  store.cardsIssued(issued(low, 'p1'));
  store.cardsIssued(issued([card('cauda-equina', 'critical')], 'p2', { serviceId: 'spine-cds-patient-view', hook: 'patient-view' }));
  const now = new Date().toISOString();
  await store.recordFeedback('spine-cds-order-sign', [
    { card: low[0]!.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: low[0]!.suggestions![0]!.uuid }], outcomeTimestamp: now },
    { card: low[1]!.uuid, outcome: 'overridden', overrideReason: { reason: { code: 'patient-preference', display: 'Patient preference' } }, outcomeTimestamp: now },
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
      overridden: 1,
      acceptanceRate: 0.5,
      topOverrideReasons: [{ label: 'Patient preference', code: 'patient-preference', cards: 1 }],
    },
    expect.objectContaining({ serviceId: 'spine-cds-patient-view', topic: 'cauda-equina', cardsIssued: 1, acceptanceRate: null }),
  ]);
}

describe('npm run report (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spine-report-'));
  const url = `sqlite:${join(dir, 'spine-cds.db')}`;
  beforeAll(() => seed(url));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints per service and topic: issued, accepted, overridden with top reasons, acceptance rate', async () => {
    const text = await report(url, '--since', '30d');
    expect(text).toMatch(/spine-cds-order-sign\s+low-value-imaging\s+3\s+1\s+1\s+1\s+50%/);
    expect(text).toContain('top override reasons: Patient preference (1)');
    expect(text).toMatch(/spine-cds-patient-view\s+cauda-equina\s+1\s+1\s+0\s+0\s+-/);
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
