import pino from 'pino';
import { PATIENT_HASH_KEY_REQUIRED } from '../src/config/config.js';
import { createLogger } from '../src/http/logger.js';
import { MIGRATIONS } from '../src/storage/migrations.js';
import { describeDatabaseUrl, openStore } from '../src/storage/index.js';

/**
 * npm run migrate (in the image: node dist/scripts/migrate.js)
 *
 * Applies the feedback store's pending schema migrations to DATABASE_URL and exits, so an operator
 * can migrate before rolling out a new version. The service still migrates at startup; after this
 * command that finds nothing to do. Same variables as the service: DATABASE_URL, PATIENT_HASH_KEY
 * (required in production, as for the service).
 */
const DEFAULT_DATABASE_URL = 'sqlite:./data/spine-cds.db';

async function main(env: Record<string, string | undefined>): Promise<number> {
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const logger = createLogger('info', pino.destination(2));
  const patientKey = env.PATIENT_HASH_KEY || undefined;
  // Without a key the store generates one and keeps it in the database; the service refuses that in
  // production, and so must the command that would create the store before the service ever starts.
  if (env.NODE_ENV === 'production' && !patientKey) {
    process.stderr.write(`migrate: ${PATIENT_HASH_KEY_REQUIRED}\n`);
    return 2;
  }
  // Opening the store is what migrates (both back-ends, under their migration lock); no purge runs.
  const store = await openStore(databaseUrl, { logger, retentionDays: 0, maintenance: false, ...(patientKey ? { patientKey } : {}) });
  await store.close();
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!;
  process.stdout.write(`migrate: ${describeDatabaseUrl(databaseUrl)} is at schema version ${latest.version} (${latest.name})\n`);
  return 0;
}

main(process.env).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`migrate: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
