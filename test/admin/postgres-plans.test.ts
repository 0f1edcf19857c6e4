import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberedParameters, POSTGRES_DIALECT, reportQueries } from '../../src/storage/analytics.js';
import { openStore, type Store } from '../../src/storage/index.js';
import { captureLogger } from '../storage/contract.js';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';

/**
 * The dashboard's queries on a year of history (generated with generate_series, enough rows for the
 * planner to weigh its options) read the big tables through indexes, never by a full scan.
 * Plans only: no timing assertion (speed lives in test/bench/).
 */
const CARDS = 400_000;
const DAY_MS = 86_400_000;
const OWN_REASONS = 'https://fhir.spine-cds.org/CodeSystem/override-reason';
const BIG_TABLES = ['issued_cards', 'feedback', 'issued_suggestions', 'service_calls', 'call_data_gaps'];

/** A year of cards on three services and eight topics, a tenth with feedback, one call per card. */
const SEED = `
  INSERT INTO issued_cards (card_uuid, service_id, hook, hook_instance, topic, indicator, suggestion_uuids, patient_hash, issued_at)
  SELECT 'c' || i, (ARRAY['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign'])[1 + i % 3], 'patient-view', 'h' || i,
         (ARRAY['cauda-equina', 'myelopathy', 'motor-deficit', 'low-value-imaging', 'conservative-care', 'elevated-risk', 'infection-suspected', 'malignancy-suspected'])[1 + i % 8],
         (ARRAY['info', 'warning', 'critical'])[1 + i % 3], jsonb_build_array('s' || i), md5('p' || (i % 50000)),
         now() - (i::double precision / ${CARDS} * interval '365 days')
  FROM generate_series(1, ${CARDS}) AS i;
  INSERT INTO issued_suggestions (suggestion_uuid, card_uuid, service_id, suggestion_type, issued_at)
  SELECT 's' || substr(card_uuid, 2), card_uuid, service_id, 'create ServiceRequest', issued_at FROM issued_cards;
  INSERT INTO feedback (dedup_key, service_id, card_uuid, card_known, outcome, accepted_suggestions, override_reason_code, override_comment, outcome_at, received_at)
  SELECT 'd' || i, (ARRAY['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign'])[1 + i % 3], 'c' || i, true,
         CASE WHEN i % 20 = 0 THEN 'accepted' ELSE 'overridden' END,
         CASE WHEN i % 20 = 0 THEN jsonb_build_array('s' || i) END,
         CASE WHEN i % 20 = 10 THEN 'patient-declined' END, NULL,
         now() - (i::double precision / ${CARDS} * interval '365 days') + interval '5 minutes',
         now() - (i::double precision / ${CARDS} * interval '365 days') + interval '6 minutes'
  FROM generate_series(1, ${CARDS}, 10) AS i;
  INSERT INTO service_calls (service_id, hook, status, duration_ms, cards, called_at)
  SELECT (ARRAY['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign'])[1 + i % 3], 'patient-view',
         CASE WHEN i % 50 = 0 THEN 412 ELSE 200 END, 5 + (i % 97), 1, now() - (i::double precision / ${CARDS} * interval '365 days')
  FROM generate_series(1, ${CARDS}) AS i;
  INSERT INTO call_data_gaps (service_id, prefetch_key, kind, called_at)
  SELECT (ARRAY['spine-cds-patient-view', 'spine-cds-order-select', 'spine-cds-order-sign'])[1 + i % 3], 'procedures', 'unavailable',
         now() - (i::double precision / ${CARDS} * interval '365 days')
  FROM generate_series(1, ${CARDS}, 5) AS i;
`;

interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

const availability = postgresAvailability();

describe.skipIf(!availability.available)('dashboard queries on PostgreSQL with a year of history', () => {
  let server: PostgresServer;
  let store: Store;
  let client: pg.Client;

  beforeAll(async () => {
    server = await startPostgres();
    store = await openStore(server.url, { logger: captureLogger().logger, retentionDays: 0, maintenance: false });
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(SEED);
    // Statistics and the visibility map, as autovacuum would have them on a live database.
    await client.query('VACUUM ANALYZE');
  }, 300_000);
  afterAll(async () => {
    await client?.end();
    await store?.close();
    await server?.stop();
  });

  /** EXPLAIN (FORMAT JSON) of every dashboard query for the period. */
  const plansFor = async (days: number, service: string | null): Promise<Array<[string, PlanNode]>> => {
    const since = new Date(Date.now() - days * DAY_MS);
    const params = { since, receivedSince: new Date(since.getTime() - DAY_MS), service, reasonSystem: OWN_REASONS, offeredReasons: JSON.stringify(['patient-declined']) };
    const plans: Array<[string, PlanNode]> = [];
    for (const [name, sql] of Object.entries(reportQueries(POSTGRES_DIALECT))) {
      const { text, values } = numberedParameters(sql, params);
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
      plans.push([name, rows[0]!['QUERY PLAN'][0]!.Plan]);
    }
    return plans;
  };

  for (const service of [null, 'spine-cds-order-sign']) {
    it(`every query reads the big tables through an index (last 30 days, ${service ?? 'all services'})`, async () => {
      const seqScans: string[] = [];
      for (const [name, root] of await plansFor(30, service)) {
        const plan = nodes(root);
        for (const n of plan) {
          if (n['Node Type'] === 'Seq Scan' && BIG_TABLES.includes(n['Relation Name'] ?? '')) seqScans.push(`${name}: Seq Scan on ${n['Relation Name']}`);
        }
        const indexed = plan.filter((n) => /Index/.test(n['Node Type'])).map((n) => n['Index Name']);
        expect(indexed.length, `${name} uses no index`).toBeGreaterThan(0);
      }
      expect(seqScans).toEqual([]);
    });

    /*
     * The 365-day view of a year of history reads nearly every row (the default retention is 400
     * days), so PostgreSQL rightly reads the big tables in one sequential pass and hash-joins them:
     * an index would only add random reads. What must never happen is a pass per row: a big table
     * scanned on the inner side of a nested loop, or in a subplan, is read once per outer row.
     */
    it(`over 365 days every big table is read by index, bitmap or one pass, never once per row (${service ?? 'all services'})`, async () => {
      const repeatedScans: string[] = [];
      for (const [name, root] of await plansFor(365, service)) {
        const walk = (n: PlanNode, repeated: boolean): void => {
          if (repeated && n['Node Type'] === 'Seq Scan' && BIG_TABLES.includes(n['Relation Name'] ?? '')) repeatedScans.push(`${name}: Seq Scan on ${n['Relation Name']}`);
          for (const child of n.Plans ?? []) {
            const inner = n['Node Type'] === 'Nested Loop' && child['Parent Relationship'] === 'Inner';
            walk(child, repeated || inner || child['Parent Relationship'] === 'SubPlan');
          }
        };
        walk(root, false);
        const scans = nodes(root).filter((n) => BIG_TABLES.includes(n['Relation Name'] ?? ''));
        expect(scans.length, `${name} reads no big table`).toBeGreaterThan(0);
        for (const n of scans) expect(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan'], `${name}: ${n['Node Type']}`).toContain(n['Node Type']);
        // Aggregated in the database: the top of the plan is an aggregate, not the period's rows.
        expect(nodes(root).slice(0, 2).some((n) => n['Node Type'] === 'Aggregate'), `${name} does not aggregate in SQL`).toBe(true);
      }
      expect(repeatedScans).toEqual([]);
    });
  }

  it('the store answers from the same queries', async () => {
    const report = await store.report({ since: new Date(Date.now() - 30 * DAY_MS) });
    const issued = report.rows.reduce((n, r) => n + r.cardsIssued, 0);
    // 30 of 365 days of evenly spread cards, give or take the edges of the window.
    expect(issued).toBeGreaterThan(CARDS * (29 / 365));
    expect(issued).toBeLessThan(CARDS * (31 / 365));
    expect(report.calls.every((c) => c.medianMs !== null && c.p95Ms! >= c.medianMs)).toBe(true);
    expect(report.dataGaps.map((g) => g.prefetchKey)).toEqual(['procedures', 'procedures', 'procedures']);
  });
});
