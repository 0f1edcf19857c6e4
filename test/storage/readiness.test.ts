import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';
import { postJson } from '../support/requests.js';
import { startService, type RunningService } from '../support/service.js';

/**
 * Issue 14 item 7: /readyz asks the database for real, and a database outage never blocks a hook
 * call; the cards it could not record are counted and logged.
 */
const pg = postgresAvailability();
// A record that gets a card (bilateral sciatica), so there is something to record.
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../clinical/fixtures/d07-bilateral-sciatica.json', import.meta.url)), 'utf8')) as { now: string; request: unknown };

describe.skipIf(!pg.available)('readiness with PostgreSQL going away', () => {
  let db: PostgresServer;
  let svc: RunningService;

  beforeAll(async () => {
    db = await startPostgres();
    svc = await startService({ DATABASE_URL: db.url, PATIENT_HASH_KEY: 'k'.repeat(40) }, { now: () => new Date(fixture.now) });
  }, 90_000);
  afterAll(async () => {
    await svc?.close();
    await db?.stop().catch(() => undefined);
  });

  it('is ready while the database answers, not ready once it is stopped; hook calls still answer', async () => {
    const ready = await fetch(`${svc.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { store: true, mappings: true } });

    await db.stop();
    // The answer is cached for 1.5 s: poll until the probe has asked again (bounded).
    let status = 200;
    let body: unknown;
    for (let i = 0; i < 100 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${svc.baseUrl}/readyz`);
      status = res.status;
      body = await res.json();
    }
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'not-ready', checks: { store: false } });

    // The hook call does not wait for the database: it answers with its cards.
    const res = await postJson(`${svc.baseUrl}/cds-services/spine-cds-patient-view`, fixture.request);
    expect(res.status).toBe(200);
    expect((res.body as { cards: unknown[] }).cards.length).toBeGreaterThan(0);
    // The cards it could not record are logged as such (the writer counts them too).
    let failed: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100 && failed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      failed = svc.logLines().map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'card store write failed: issued cards not recorded');
    }
    expect(failed[0]).toMatchObject({ level: 50, cards: expect.any(Number), failedCards: expect.any(Number) });
  }, 60_000);
});
