import { MIN_PATIENT_KEY_LENGTH } from './common.js';
import type { Store, StoreOptions } from './types.js';

export type {
  FeedbackEntry,
  FeedbackResult,
  OverrideReasonCount,
  Report,
  ReportRow,
  Store,
  StoreCounts,
  StoreOptions,
  StoreStats,
} from './types.js';

export type DatabaseLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * DATABASE_URL is a contract other tooling relies on: `sqlite:<path>` (`sqlite::memory:` for tests)
 * or `postgres://…` / `postgresql://…`. Anything else is a configuration error, reported as such.
 */
export function parseDatabaseUrl(databaseUrl: string): DatabaseLocation {
  if (databaseUrl.startsWith('sqlite:')) {
    let path = databaseUrl.slice('sqlite:'.length);
    // sqlite:///abs/file.db is a common spelling of sqlite:/abs/file.db.
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw new Error('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:./data/spine-cds.db');
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return { kind: 'postgres', url: databaseUrl };
  throw new Error('DATABASE_URL must be sqlite:<path> or postgres://user:password@host:port/database');
}

/** For logs and reports: the URL without its password. */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const loc = parseDatabaseUrl(databaseUrl);
    if (loc.kind === 'sqlite') return `sqlite:${loc.path}`;
    const url = new URL(loc.url);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid DATABASE_URL)';
  }
}

/**
 * Opens the store DATABASE_URL selects and runs its migrations. The back-ends load lazily, so a
 * SQLite deployment never loads pg and a PostgreSQL one never loads the native SQLite module.
 */
export async function openStore(databaseUrl: string, opts: StoreOptions): Promise<Store> {
  if (opts.patientKey !== undefined && opts.patientKey.length < MIN_PATIENT_KEY_LENGTH) {
    throw new Error(`PATIENT_HASH_KEY must be at least ${MIN_PATIENT_KEY_LENGTH} characters (e.g. openssl rand -base64 32)`);
  }
  const loc = parseDatabaseUrl(databaseUrl);
  const store =
    loc.kind === 'sqlite'
      ? await (await import('./sqlite.js')).openSqliteStore(loc.path, opts)
      : await (await import('./postgres.js')).openPostgresStore(loc.url, opts);
  opts.logger.info({ store: store.kind, database: describeDatabaseUrl(databaseUrl), retentionDays: opts.retentionDays, patientKey: opts.patientKey ? 'PATIENT_HASH_KEY' : 'generated, kept in the database' }, 'feedback store open');
  return store;
}
