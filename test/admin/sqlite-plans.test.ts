import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { reportQueries, SQLITE_DIALECT } from '../../src/storage/analytics.js';
import { MIGRATIONS } from '../../src/storage/migrations.js';

/**
 * SQLite's side of "aggregate in SQL with indexes": no dashboard query walks a whole table (or a
 * whole index) of cards, feedback, suggestions or calls. SCAN of a CTE, a subquery or json_each is
 * fine: those hold the period's rows only.
 */
const BIG_TABLE_ALIASES = ['c', 'f', 's', 'g', 'k'];

describe('dashboard queries on SQLite', () => {
  const db = new Database(':memory:');
  for (const m of MIGRATIONS) db.exec(m.sqlite);

  for (const service of [null, 'spine-cds-order-sign']) {
    it(`read the big tables through a range of an index (${service ?? 'all services'})`, () => {
      const scans: string[] = [];
      for (const [name, sql] of Object.entries(reportQueries(SQLITE_DIALECT))) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ since: 0, receivedSince: 0, service, reasonSystem: 'urn:own', offeredReasons: '["patient-declined"]' }) as Array<{ detail: string }>;
        for (const { detail } of plan) {
          const alias = /^SCAN (\w+)\b/.exec(detail)?.[1];
          if (alias && BIG_TABLE_ALIASES.includes(alias)) scans.push(`${name}: ${detail}`);
        }
        expect(plan.some((p) => /^SEARCH \w+ USING (COVERING )?INDEX/.test(p.detail)), name).toBe(true);
      }
      expect(scans).toEqual([]);
    });
  }
});
