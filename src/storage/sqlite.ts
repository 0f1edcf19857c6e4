import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuthenticatedClient } from '../auth/types.js';
import type { CallCompleted, CardsIssued } from './card-sink.js';
import {
  CardWriter,
  feedbackRow,
  PATIENT_KEY_META,
  patientHasher,
  retentionCutoff,
  scheduleJtiPurge,
  type WriteBatch,
  scheduleRetention,
} from './common.js';
import { buildReport, type ReportParams, SQLITE_DIALECT } from './analytics.js';
import { MIGRATIONS } from './migrations.js';
import { SqliteCardWorker, sqliteBatch } from './sqlite-card-worker.js';
import type { FeedbackEntry, FeedbackResult, Report, Store, StoreCounts, StoreOptions, StoreStats } from './types.js';

/**
 * The embedded store (better-sqlite3). WAL lets the report command read while the service writes;
 * synchronous=FULL makes every commit fsync the WAL before it returns, so an acknowledged feedback
 * write survives a crash or a power cut (NORMAL would survive a crash but may lose the last commits
 * on power loss). Measured here: about 0.25 ms per commit.
 * better-sqlite3 is synchronous, so issued-card batches (gathered over batchDelayMs, one fsync per
 * batch) are written by a worker thread with its own connection (sqlite-card-worker.ts); feedback,
 * reports and the retention purge run on this thread.
 * One service process per file, enforced: a second writer would wait on the lock (busy_timeout)
 * inside the event loop (measured in issue 14: 31% of feedback writes failed SQLITE_BUSY and hook p99
 * rose to 1.58 s). The first process holds an exclusive lock on a companion file for its lifetime
 * (the OS drops it when the process dies, even on SIGKILL), and a second one is refused at startup.
 * Several instances need PostgreSQL (docs/operations.md).
 */
export async function openSqliteStore(path: string, opts: StoreOptions): Promise<Store> {
  const memory = path === ':memory:';
  if (!memory && !opts.mustExist) mkdirSync(dirname(path), { recursive: true });
  const exclusive = !memory && (opts.exclusive ?? opts.maintenance !== false);
  const instanceLock = exclusive ? takeInstanceLock(path) : null;
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: Boolean(opts.mustExist) && !memory });
  } catch (err) {
    instanceLock?.close();
    throw err;
  }
  try {
    const mode = String(db.pragma('journal_mode = WAL', { simple: true }));
    if (!memory && mode !== 'wal') {
      opts.logger.warn({ journalMode: mode }, 'sqlite: WAL mode unavailable on this file system; using the default journal');
    }
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 1000');
    migrate(db);
    // Read back, not assumed: this line is the evidence of the durability setting in the startup log.
    opts.logger.info({ journalMode: mode, synchronous: db.pragma('synchronous', { simple: true }) === 2 ? 'FULL' : 'not FULL' }, 'sqlite store settings');
  } catch (err) {
    db.close();
    instanceLock?.close();
    throw err;
  }

  // Seen JWT ids get their own connection with synchronous=NORMAL: in WAL mode a commit then
  // survives a process crash or restart (what replay protection needs) without an fsync on the
  // event loop per hook call. A short busy timeout: on contention the caller falls back to memory.
  const jtiDb = memory ? db : new Database(path, { fileMustExist: true });
  if (!memory) {
    jtiDb.pragma('synchronous = NORMAL');
    jtiDb.pragma('busy_timeout = 50');
  }
  const claimJti = jtiDb.prepare(`
    INSERT INTO seen_jti (iss, jti, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (iss, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_jti.expires_at <= ?
    RETURNING 1`).pluck();
  const purgeJti = jtiDb.prepare('DELETE FROM seen_jti WHERE expires_at <= ?');
  const ping = db.prepare('SELECT 1').pluck();

  const patientKey = opts.patientKey ?? storedPatientKey(db);
  const statements = new Map<string, Database.Statement>();
  const insertBatch = db.transaction((batch: WriteBatch) => {
    for (const part of sqliteBatch(batch)) {
      let insert = statements.get(part.sql);
      if (!insert) statements.set(part.sql, (insert = db.prepare(part.sql)));
      for (const row of part.rows) insert.run(...row);
    }
  });
  // A file database gets its card writes on a worker thread; an in-memory one cannot be shared with
  // another connection, so it writes here (tests only).
  const cardWorker = memory ? null : new SqliteCardWorker(path);
  const cardKnown = db.prepare('SELECT 1 FROM issued_cards WHERE card_uuid = ? AND service_id = ?').pluck();
  const insertFeedback = db.prepare(`
    INSERT INTO feedback (dedup_key, service_id, card_uuid, card_known, outcome, accepted_suggestions, override_reason_system,
      override_reason_code, override_reason_display, override_comment, outcome_at, received_at, issuer, tenant)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (dedup_key) DO NOTHING`);
  const insertFeedbackBatch = db.transaction((serviceId: string, entries: FeedbackEntry[], client?: AuthenticatedClient): FeedbackResult => {
    const result: FeedbackResult = { stored: 0, duplicates: 0, unknownCards: 0 };
    const receivedAt = new Date();
    for (const entry of entries) {
      const f = feedbackRow(serviceId, entry, receivedAt, client);
      const known = cardKnown.get(f.cardUuid, serviceId) !== undefined;
      const { changes } = insertFeedback.run(
        f.dedupKey, f.serviceId, f.cardUuid, known ? 1 : 0, f.outcome, f.acceptedSuggestions, f.reasonSystem,
        f.reasonCode, f.reasonDisplay, f.comment, f.outcomeAt.getTime(), f.receivedAt.getTime(), f.issuer, f.tenant,
      );
      if (changes === 0) result.duplicates += 1;
      else {
        result.stored += 1;
        if (!known) result.unknownCards += 1;
      }
    }
    return result;
  });
  const reportStatements = new Map<string, Database.Statement>();
  const runReportQuery = async (sql: string, p: ReportParams): Promise<Array<Record<string, unknown>>> => {
    let statement = reportStatements.get(sql);
    if (!statement) reportStatements.set(sql, (statement = db.prepare(sql)));
    return statement.all({ ...p, since: p.since.getTime(), receivedSince: p.receivedSince.getTime() }) as Array<Record<string, unknown>>;
  };

  const writer = new CardWriter(async (batch) => (cardWorker ? cardWorker.write(batch) : insertBatch(batch)), patientHasher(patientKey), opts.logger, {
    slowWriteMs: opts.slowWriteMs ?? 1000,
    maxQueue: opts.maxQueue ?? 10_000,
    batchDelayMs: opts.batchDelayMs ?? 50,
  });

  let open = true;
  const purge = async (now = new Date()): Promise<{ cards: number; feedback: number }> => {
    const cutoff = retentionCutoff(opts.retentionDays, now);
    if (!cutoff) return { cards: 0, feedback: 0 };
    const t = cutoff.getTime();
    return db.transaction(() => {
      // Suggestions, call outcomes and gaps go with the cards; the counts returned are cards and feedback.
      db.prepare('DELETE FROM issued_suggestions WHERE issued_at < ?').run(t);
      db.prepare('DELETE FROM service_calls WHERE called_at < ?').run(t);
      db.prepare('DELETE FROM call_data_gaps WHERE called_at < ?').run(t);
      return {
        cards: db.prepare('DELETE FROM issued_cards WHERE issued_at < ?').run(t).changes,
        feedback: db.prepare('DELETE FROM feedback WHERE received_at < ?').run(t).changes,
      };
    })();
  };
  const stopRetention = scheduleRetention(purge, opts);
  const stopJtiPurge = scheduleJtiPurge(async () => purgeJti.run(Date.now()).changes, opts);

  return {
    kind: 'sqlite',
    ready: () => open,
    async ping() {
      if (!open) throw new Error('store closed');
      ping.get();
    },
    async claimJti(iss, jti, expiresAt) {
      if (!open) throw new Error('store closed');
      return claimJti.get(iss, jti, expiresAt.getTime(), Date.now()) !== undefined;
    },
    cardsIssued(event: CardsIssued): void {
      if (open) writer.enqueue(event);
    },
    async recordFeedback(serviceId, entries, client) {
      // Cards still in the queue are written first, so feedback on a card issued a moment ago is not flagged unknown.
      await writer.flush();
      return insertFeedbackBatch(serviceId, entries, client);
    },
    callCompleted(event: CallCompleted): void {
      if (open) writer.enqueueCall(event);
    },
    report: (opts): Promise<Report> => buildReport(runReportQuery, SQLITE_DIALECT, opts),
    flush: () => writer.flush(),
    purge,
    stats: (): StoreStats => writer.stats(),
    async counts(): Promise<StoreCounts> {
      const row = db
        .prepare(`SELECT (SELECT COUNT(*) FROM issued_cards) AS issuedCards, (SELECT COUNT(*) FROM feedback) AS feedback,
                         (SELECT COUNT(*) FROM feedback WHERE card_known = 0) AS unknownCardFeedback`)
        .get() as StoreCounts;
      return { ...row };
    },
    async close() {
      if (!open) return;
      stopRetention();
      stopJtiPurge();
      await writer.flush();
      open = false;
      await cardWorker?.close();
      if (jtiDb !== db) jtiDb.close();
      db.close();
      instanceLock?.close();
    },
  };
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const pending = MIGRATIONS.filter((m) => !applied.has(m.version));
  if (pending.length === 0) return;
  // IMMEDIATE takes the write lock first, so two processes starting together cannot both migrate.
  db.transaction(() => {
    const again = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const m of pending) {
      if (again.has(m.version)) continue;
      db.exec(m.sqlite);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }
  }).immediate();
}

/** The generated key is created once, in the same database, so restarts keep counting the same patients. */
function storedPatientKey(db: Database.Database): string {
  db.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(PATIENT_KEY_META, randomBytes(32).toString('base64url'));
  return db.prepare('SELECT value FROM store_meta WHERE key = ?').pluck().get(PATIENT_KEY_META) as string;
}

/** The companion file whose lock says "a service process serves this database". */
export function instanceLockPath(path: string): string {
  return `${path}-instance.lock`;
}

/**
 * Takes the instance lock, or throws a message an operator can act on. SQLite's EXCLUSIVE locking
 * mode keeps the write lock of the first write until the connection closes; POSIX locks go with the
 * process, so a crashed instance never leaves a stale lock behind.
 */
function takeInstanceLock(path: string): Database.Database {
  const lockPath = instanceLockPath(path);
  const lock = new Database(lockPath);
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, since INTEGER NOT NULL)');
    lock.prepare('INSERT OR REPLACE INTO holder (id, pid, since) VALUES (1, ?, ?)').run(process.pid, Date.now());
    return lock;
  } catch (err) {
    lock.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new Error(
        `another spine-cds process already uses the SQLite database ${path} (lock file ${lockPath}). ` +
          'A SQLite file serves one process only: run a single instance, give each its own file, or use PostgreSQL (DATABASE_URL=postgres://…) for several instances.',
        { cause: err },
      );
    }
    throw err;
  }
}
