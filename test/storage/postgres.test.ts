import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { postgresAvailability, startPostgres, type PostgresServer } from '../support/postgres.js';
import { storeContract } from './contract.js';

// Decided at collection time: skipped (with a printed notice) only when no PostgreSQL exists and CI is not set.
const availability = postgresAvailability();

describe.skipIf(!availability.available)('PostgreSQL store (real server)', () => {
  let server: PostgresServer;
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const withClient = async <T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  storeContract('PostgreSQL', {
    // A fresh database per test on the one throwaway server: isolation without a server per test.
    newDatabaseUrl: async () => {
      const name = `contract_${process.pid}_${++n}`;
      await withClient(server.url, (c) => c.query(`CREATE DATABASE ${name}`));
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    raw: async (url, sql) => withClient(url, async (c) => (await c.query(sql)).rows as Array<Record<string, unknown>>),
  });
});
