/**
 * Schema versions, applied in order at startup by both back-ends (each records what it applied in
 * schema_migrations). Never edit a released migration: add the next one.
 * Column names are the same on both sides so the report SQL is shared; types differ where each
 * database has a better one (timestamps, booleans, JSON).
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** Migration 3 for both back-ends: the same tables, each database's own column types. */
function dashboardSchema(t: { time: string; real: string; status: string }): string {
  return `
      CREATE TABLE service_calls (
        service_id TEXT NOT NULL,
        hook TEXT NOT NULL,
        status ${t.status} NOT NULL,
        duration_ms ${t.real} NOT NULL,
        cards INTEGER NOT NULL,
        called_at ${t.time} NOT NULL
      );
      CREATE INDEX service_calls_called_at ON service_calls (called_at, service_id, status, duration_ms);
      CREATE TABLE call_data_gaps (
        service_id TEXT NOT NULL,
        prefetch_key TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('precondition-failed', 'unavailable')),
        called_at ${t.time} NOT NULL
      );
      CREATE INDEX call_data_gaps_called_at ON call_data_gaps (called_at);
      CREATE TABLE issued_suggestions (
        suggestion_uuid TEXT PRIMARY KEY,
        card_uuid TEXT NOT NULL,
        service_id TEXT NOT NULL,
        suggestion_type TEXT NOT NULL,
        issued_at ${t.time} NOT NULL
      );
      CREATE INDEX issued_suggestions_issued_at ON issued_suggestions (issued_at);
      CREATE INDEX feedback_outcome_at ON feedback (outcome_at);
    `;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'issued cards, feedback, store metadata',
    sqlite: `
      CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE issued_cards (
        card_uuid TEXT PRIMARY KEY,
        service_id TEXT NOT NULL,
        hook TEXT NOT NULL,
        hook_instance TEXT NOT NULL,
        topic TEXT,
        indicator TEXT NOT NULL,
        suggestion_uuids TEXT NOT NULL,
        patient_hash TEXT,
        issuer TEXT,
        tenant TEXT,
        issued_at INTEGER NOT NULL
      );
      CREATE INDEX issued_cards_issued_at ON issued_cards (issued_at);
      CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        service_id TEXT NOT NULL,
        card_uuid TEXT NOT NULL,
        card_known INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
        accepted_suggestions TEXT,
        override_reason_system TEXT,
        override_reason_code TEXT,
        override_reason_display TEXT,
        override_comment TEXT,
        outcome_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        issuer TEXT,
        tenant TEXT
      );
      CREATE INDEX feedback_card_uuid ON feedback (card_uuid);
      CREATE INDEX feedback_received_at ON feedback (received_at);
    `,
    postgres: `
      CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE issued_cards (
        card_uuid TEXT PRIMARY KEY,
        service_id TEXT NOT NULL,
        hook TEXT NOT NULL,
        hook_instance TEXT NOT NULL,
        topic TEXT,
        indicator TEXT NOT NULL,
        suggestion_uuids JSONB NOT NULL,
        patient_hash TEXT,
        issuer TEXT,
        tenant TEXT,
        issued_at TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX issued_cards_issued_at ON issued_cards (issued_at);
      CREATE TABLE feedback (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        service_id TEXT NOT NULL,
        card_uuid TEXT NOT NULL,
        card_known BOOLEAN NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
        accepted_suggestions JSONB,
        override_reason_system TEXT,
        override_reason_code TEXT,
        override_reason_display TEXT,
        override_comment TEXT,
        outcome_at TIMESTAMPTZ NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        issuer TEXT,
        tenant TEXT
      );
      CREATE INDEX feedback_card_uuid ON feedback (card_uuid);
      CREATE INDEX feedback_received_at ON feedback (received_at);
    `,
  },
  {
    version: 2,
    name: 'seen JWT ids (replay protection shared by every instance)',
    // One row per accepted token until it expires; the primary key is what refuses the second use.
    sqlite: `
      CREATE TABLE seen_jti (
        iss TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (iss, jti)
      );
      CREATE INDEX seen_jti_expires_at ON seen_jti (expires_at);
    `,
    postgres: `
      CREATE TABLE seen_jti (
        iss TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (iss, jti)
      );
      CREATE INDEX seen_jti_expires_at ON seen_jti (expires_at);
    `,
  },
  {
    version: 3,
    name: 'governance dashboard: call outcomes, prefetch gaps, issued suggestions, report indexes',
    sqlite: dashboardSchema({ time: 'INTEGER', real: 'REAL', status: 'INTEGER' }),
    postgres: dashboardSchema({ time: 'TIMESTAMPTZ', real: 'DOUBLE PRECISION', status: 'SMALLINT' }),
  },
];
