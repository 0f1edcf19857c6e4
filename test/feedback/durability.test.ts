import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/storage/index.js';
import { captureLogger } from '../storage/contract.js';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../support/process.js';
import { postJson } from '../support/requests.js';

/**
 * Issue 6 durability: start the real server process, post N feedback entries and receive the
 * acknowledgements, SIGKILL it, restart it: exactly N entries are there. Then the same with the
 * kill landing while requests are still in flight: every acknowledged entry is there, and each
 * request was stored whole or not at all.
 */
const SERVICE = 'spine-cds-order-sign';
const PER_REQUEST = 5;

function entries(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    card: randomUUID(),
    outcome: i % 2 === 0 ? 'overridden' : 'accepted',
    ...(i % 2 === 0 ? { overrideReason: { reason: { system: 'urn:test', code: 'clinical-judgement' } } } : { acceptedSuggestions: [{ id: randomUUID() }] }),
    outcomeTimestamp: new Date(Date.UTC(2026, 10, 20, 12, 0, i)).toISOString(),
  }));
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

async function storedFeedback(databaseUrl: string): Promise<number> {
  const store = await openStore(databaseUrl, { logger: captureLogger().logger, retentionDays: 0, maintenance: false });
  try {
    return (await store.counts()).feedback;
  } finally {
    await store.close();
  }
}

async function kill(svc: ServiceProcess): Promise<void> {
  svc.child.kill('SIGKILL');
  await svc.exited;
}

function durabilitySuite(name: string, databaseUrl: () => Promise<string>): void {
  describe(`durability across SIGKILL: ${name}`, () => {
    it('N acknowledged entries, SIGKILL, restart: exactly N are there, and a resend adds none', async () => {
      const url = await databaseUrl();
      const sent = entries(60);
      let svc = await startServiceProcess({ DATABASE_URL: url });
      let acknowledged = 0;
      for (const batch of batches(sent, PER_REQUEST)) {
        const res = await postJson(`${svc.baseUrl}/cds-services/${SERVICE}/feedback`, { feedback: batch });
        expect(res.status).toBe(200);
        acknowledged += (res.body as { stored: number }).stored;
      }
      expect(acknowledged).toBe(sent.length);
      await kill(svc);

      svc = await startServiceProcess({ DATABASE_URL: url });
      try {
        expect(await storedFeedback(url)).toBe(sent.length);
        // The EHR did not see the acknowledgements (say): it resends everything after the restart.
        const again = await postJson(`${svc.baseUrl}/cds-services/${SERVICE}/feedback`, { feedback: sent });
        expect(again).toMatchObject({ status: 200, body: { stored: 0, duplicates: sent.length } });
        expect(await storedFeedback(url)).toBe(sent.length);
      } finally {
        await kill(svc);
      }
    });

    it('SIGKILL with requests in flight: every acknowledged entry survives, no request is half stored', async () => {
      const url = await databaseUrl();
      const sent = entries(150);
      const requests = batches(sent, PER_REQUEST);
      let svc = await startServiceProcess({ DATABASE_URL: url });
      const target = svc;
      let acknowledgedRequests = 0;
      let killed: Promise<void> | undefined;
      // The kill is triggered by a count of acknowledgements, not by a timer.
      const outcomes = await Promise.allSettled(
        requests.map(async (feedback) => {
          const res = await postJson(`${target.baseUrl}/cds-services/${SERVICE}/feedback`, { feedback });
          if (res.status === 200) {
            acknowledgedRequests += 1;
            if (acknowledgedRequests === 10) killed = kill(target);
          }
          return res.status;
        }),
      );
      await (killed ?? kill(target));
      expect(acknowledgedRequests).toBeGreaterThanOrEqual(10);
      expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value !== 200)).toEqual([]);

      svc = await startServiceProcess({ DATABASE_URL: url });
      try {
        const stored = await storedFeedback(url);
        expect(stored).toBeGreaterThanOrEqual(acknowledgedRequests * PER_REQUEST);
        expect(stored).toBeLessThanOrEqual(sent.length);
        expect(stored % PER_REQUEST).toBe(0);
        // Resending everything completes the set without duplicating what survived.
        const again = await postJson(`${svc.baseUrl}/cds-services/${SERVICE}/feedback`, { feedback: sent });
        expect(again).toMatchObject({ status: 200, body: { stored: sent.length - stored, duplicates: stored } });
        expect(await storedFeedback(url)).toBe(sent.length);
      } finally {
        await kill(svc);
      }
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'spine-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
durabilitySuite('SQLite', async () => `sqlite:${join(dir, `durable-${++n}.db`)}`);

describe.skipIf(!postgresAvailability().available)('PostgreSQL (real server)', () => {
  let server: PostgresServer;
  let m = 0;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  durabilitySuite('PostgreSQL', async () => {
    const pg = (await import('pg')).default;
    const name = `durable_${process.pid}_${++m}`;
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  });
});
