import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { CallCompleted, CardsIssued } from './card-sink.js';
import {
  CardWriter,
  errorSummary,
  feedbackRow,
  PATIENT_KEY_META,
  patientHasher,
  retentionCutoff,
  scheduleJtiPurge,
  type WriteBatch,
  scheduleRetention,
} from './common.js';
import { buildReport, numberedParameters, POSTGRES_DIALECT } from './analytics.js';
import { MIGRATIONS } from './migrations.js';
import type { FeedbackResult, Report, Store, StoreCounts, StoreOptions, StoreStats } from './types.js';

/** Any constant works; it only has to be the same for every replica of this service. */
const MIGRATION_LOCK = 7_301_946_551;

/**
 * The server store (node-postgres pool). A commit returns once PostgreSQL has flushed its WAL
 * (synchronous_commit defaults to on), so acknowledged feedback is durable. A statement timeout
 * bounds every write: a stuck database makes card writes fail and be counted, not pile up.
 */
export async function openPostgresStore(connectionString: string, opts: StoreOptions): Promise<Store> {
  const pool = new pg.Pool({
    connectionString,
    max: 5,
    connectionTimeoutMillis: 5000,
    statement_timeout: opts.statementTimeoutMs ?? 5000,
    application_name: 'spine-cds',
  });
  // An idle client losing its connection emits here; unhandled it would crash the process.
  pool.on('error', (err) => opts.logger.error({ err: errorSummary(err) }, 'postgres: idle connection error'));

  let patientKey: string;
  try {
    await migrate(pool);
    patientKey = opts.patientKey ?? (await storedPatientKey(pool));
  } catch (err) {
    await pool.end();
    throw err;
  }

  const writeBatch = async (batch: WriteBatch): Promise<void> => {
    const parts = postgresBatch(batch);
    if (parts.length === 0) return;
    // One statement is one transaction; several (cards with their suggestions, call outcomes) get one explicit transaction.
    if (parts.length === 1) {
      await pool.query(parts[0]!.text, parts[0]!.values);
      return;
    }
    await inTransaction(pool, async (conn) => {
      for (const part of parts) await conn.query(part.text, part.values);
    });
  };
  const writer = new CardWriter(writeBatch, patientHasher(patientKey), opts.logger, {
    slowWriteMs: opts.slowWriteMs ?? 1000,
    maxQueue: opts.maxQueue ?? 10_000,
    batchDelayMs: opts.batchDelayMs ?? 50,
  });

  let open = true;
  const purge = async (now = new Date()): Promise<{ cards: number; feedback: number }> => {
    const cutoff = retentionCutoff(opts.retentionDays, now);
    if (!cutoff) return { cards: 0, feedback: 0 };
    // Suggestions, call outcomes and gaps go with the cards; the counts returned are cards and feedback.
    await pool.query('DELETE FROM issued_suggestions WHERE issued_at < $1', [cutoff]);
    await pool.query('DELETE FROM service_calls WHERE called_at < $1', [cutoff]);
    await pool.query('DELETE FROM call_data_gaps WHERE called_at < $1', [cutoff]);
    const cards = await pool.query('DELETE FROM issued_cards WHERE issued_at < $1', [cutoff]);
    const feedback = await pool.query('DELETE FROM feedback WHERE received_at < $1', [cutoff]);
    return { cards: cards.rowCount ?? 0, feedback: feedback.rowCount ?? 0 };
  };
  const stopRetention = scheduleRetention(purge, opts);
  const stopJtiPurge = scheduleJtiPurge(async () => (await pool.query('DELETE FROM seen_jti WHERE expires_at <= now()')).rowCount ?? 0, opts);

  return {
    kind: 'postgres',
    ready: () => open,
    async ping() {
      if (!open) throw new Error('store closed');
      await pool.query('SELECT 1');
    },
    async claimJti(iss, jti, expiresAt) {
      if (!open) throw new Error('store closed');
      // One statement: the primary key decides between concurrent instances; an expired row is reused.
      const { rowCount } = await pool.query(
        `INSERT INTO seen_jti (iss, jti, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (iss, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE seen_jti.expires_at <= $4
         RETURNING 1`,
        [iss, jti, expiresAt, new Date()],
      );
      return (rowCount ?? 0) > 0;
    },
    cardsIssued(event: CardsIssued): void {
      if (open) writer.enqueue(event);
    },
    async recordFeedback(serviceId, entries, client) {
      await writer.flush();
      const result: FeedbackResult = { stored: 0, duplicates: 0, unknownCards: 0 };
      const receivedAt = new Date();
      const conn = await pool.connect();
      try {
        await conn.query('BEGIN');
        for (const entry of entries) {
          const f = feedbackRow(serviceId, entry, receivedAt, client);
          const known = (await conn.query('SELECT 1 FROM issued_cards WHERE card_uuid = $1 AND service_id = $2', [f.cardUuid, serviceId])).rowCount! > 0;
          const inserted = await conn.query(
            `INSERT INTO feedback (dedup_key, service_id, card_uuid, card_known, outcome, accepted_suggestions, override_reason_system,
               override_reason_code, override_reason_display, override_comment, outcome_at, received_at, issuer, tenant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (dedup_key) DO NOTHING`,
            [f.dedupKey, f.serviceId, f.cardUuid, known, f.outcome, f.acceptedSuggestions, f.reasonSystem, f.reasonCode, f.reasonDisplay, f.comment, f.outcomeAt, f.receivedAt, f.issuer, f.tenant],
          );
          if (inserted.rowCount === 0) result.duplicates += 1;
          else {
            result.stored += 1;
            if (!known) result.unknownCards += 1;
          }
        }
        await conn.query('COMMIT');
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
    callCompleted(event: CallCompleted): void {
      if (open) writer.enqueueCall(event);
    },
    report: (opts): Promise<Report> =>
      buildReport(
        async (sql, params) => {
          const { text, values } = numberedParameters(sql, params);
          return (await pool.query(text, values)).rows as Array<Record<string, unknown>>;
        },
        POSTGRES_DIALECT,
        opts,
      ),
    flush: () => writer.flush(),
    purge,
    stats: (): StoreStats => writer.stats(),
    async counts(): Promise<StoreCounts> {
      const { rows } = await pool.query<{ issued: string; feedback: string; unknown: string }>(
        `SELECT (SELECT COUNT(*) FROM issued_cards) AS issued, (SELECT COUNT(*) FROM feedback) AS feedback,
                (SELECT COUNT(*) FROM feedback WHERE NOT card_known) AS unknown`,
      );
      const r = rows[0]!;
      return { issuedCards: Number(r.issued), feedback: Number(r.feedback), unknownCardFeedback: Number(r.unknown) };
    },
    async close() {
      if (!open) return;
      stopRetention();
      stopJtiPurge();
      await writer.flush();
      open = false;
      await pool.end();
    },
  };
}

/** A multi-row INSERT … VALUES (…), (…) with numbered parameters. */
function multiRowInsert(head: string, rows: unknown[][], tail = ''): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples = rows.map((row) => `(${row.map((v) => `$${values.push(v)}`).join(', ')})`);
  return { text: `${head} VALUES ${tuples.join(', ')} ${tail}`, values };
}

function postgresBatch(batch: WriteBatch): Array<{ text: string; values: unknown[] }> {
  const parts: Array<{ text: string; values: unknown[] }> = [];
  if (batch.cards.length > 0) {
    parts.push(
      multiRowInsert(
        'INSERT INTO issued_cards (card_uuid, service_id, hook, hook_instance, topic, indicator, suggestion_uuids, patient_hash, issuer, tenant, issued_at)',
        batch.cards.map((r) => [r.cardUuid, r.serviceId, r.hook, r.hookInstance, r.topic, r.indicator, r.suggestionUuids, r.patientHash, r.issuer, r.tenant, r.issuedAt]),
        'ON CONFLICT (card_uuid) DO NOTHING',
      ),
    );
  }
  if (batch.suggestions.length > 0) {
    parts.push(
      multiRowInsert(
        'INSERT INTO issued_suggestions (suggestion_uuid, card_uuid, service_id, suggestion_type, issued_at)',
        batch.suggestions.map((r) => [r.suggestionUuid, r.cardUuid, r.serviceId, r.suggestionType, r.issuedAt]),
        'ON CONFLICT (suggestion_uuid) DO NOTHING',
      ),
    );
  }
  if (batch.calls.length > 0) {
    parts.push(
      multiRowInsert(
        'INSERT INTO service_calls (service_id, hook, status, duration_ms, cards, called_at)',
        batch.calls.map((r) => [r.serviceId, r.hook, r.status, r.durationMs, r.cards, r.calledAt]),
      ),
    );
  }
  if (batch.gaps.length > 0) {
    parts.push(
      multiRowInsert('INSERT INTO call_data_gaps (service_id, prefetch_key, kind, called_at)', batch.gaps.map((r) => [r.serviceId, r.prefetchKey, r.kind, r.calledAt])),
    );
  }
  return parts;
}

/** BEGIN … COMMIT on one pooled connection; ROLLBACK and rethrow on any failure. */
async function inTransaction(pool: pg.Pool, body: (conn: pg.PoolClient) => Promise<void>): Promise<void> {
  const conn = await pool.connect();
  try {
    await conn.query('BEGIN');
    await body(conn);
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (conn) => {
    // Replicas starting together queue here; the first migrates, the others then find nothing to do.
    await conn.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await conn.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await conn.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await conn.query(m.postgres);
      await conn.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
  });
}

async function storedPatientKey(pool: pg.Pool): Promise<string> {
  await pool.query('INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [PATIENT_KEY_META, randomBytes(32).toString('base64url')]);
  const { rows } = await pool.query<{ value: string }>('SELECT value FROM store_meta WHERE key = $1', [PATIENT_KEY_META]);
  return rows[0]!.value;
}
