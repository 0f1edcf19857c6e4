import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { IssuedCardRow, WriteBatch } from './common.js';

/**
 * Issued-card batches for a SQLite file are written on a worker thread with its own connection:
 * better-sqlite3 is synchronous, and a commit with synchronous=FULL waits for an fsync (0.25 ms on
 * an idle disk, 5–20 ms measured on a busy shared one), which on the main thread would stall every
 * request in flight. Feedback stays on the main thread: it must be durable before its 200 anyway.
 *
 * The worker is plain JavaScript evaluated from a string, so it runs the same under tsx, vitest and
 * the compiled build, with no separate file to ship.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
let statements = new Map();
const writeAll = db.transaction((parts) => {
  for (const part of parts) {
    // Prepared on first use and again after a failure, so a schema change cannot wedge the thread.
    let insert = statements.get(part.sql);
    if (!insert) statements.set(part.sql, (insert = db.prepare(part.sql)));
    for (const row of part.rows) insert.run(...row);
  }
});
parentPort.on('message', (message) => {
  if (message.close) { db.close(); parentPort.close(); return; }
  try {
    writeAll(message.parts);
    parentPort.postMessage({ id: message.id, ok: true });
  } catch (err) {
    statements = new Map();
    parentPort.postMessage({ id: message.id, ok: false, message: String(err && err.message), code: err && err.code });
  }
});
`;

export const INSERT_CARD_SQL = `
  INSERT INTO issued_cards (card_uuid, service_id, hook, hook_instance, topic, indicator, suggestion_uuids, patient_hash, issuer, tenant, issued_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (card_uuid) DO NOTHING`;

export function cardValues(r: IssuedCardRow): unknown[] {
  return [r.cardUuid, r.serviceId, r.hook, r.hookInstance, r.topic, r.indicator, r.suggestionUuids, r.patientHash, r.issuer, r.tenant, r.issuedAt.getTime()];
}

/** One background batch as SQLite statements and their rows, written in one transaction. */
export function sqliteBatch(batch: WriteBatch): Array<{ sql: string; rows: unknown[][] }> {
  return [
    { sql: INSERT_CARD_SQL, rows: batch.cards.map(cardValues) },
    {
      sql: 'INSERT INTO issued_suggestions (suggestion_uuid, card_uuid, service_id, suggestion_type, issued_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (suggestion_uuid) DO NOTHING',
      rows: batch.suggestions.map((r) => [r.suggestionUuid, r.cardUuid, r.serviceId, r.suggestionType, r.issuedAt.getTime()]),
    },
    {
      sql: 'INSERT INTO service_calls (service_id, hook, status, duration_ms, cards, called_at) VALUES (?, ?, ?, ?, ?, ?)',
      rows: batch.calls.map((r) => [r.serviceId, r.hook, r.status, r.durationMs, r.cards, r.calledAt.getTime()]),
    },
    {
      sql: 'INSERT INTO call_data_gaps (service_id, prefetch_key, kind, called_at) VALUES (?, ?, ?, ?)',
      rows: batch.gaps.map((r) => [r.serviceId, r.prefetchKey, r.kind, r.calledAt.getTime()]),
    },
  ].filter((part) => part.rows.length > 0);
}

type Reply = { id: number; ok: true } | { id: number; ok: false; message: string; code?: string };

export class SqliteCardWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly driver = createRequire(import.meta.url).resolve('better-sqlite3');

  constructor(private readonly path: string) {}

  write(batch: WriteBatch): Promise<void> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, parts: sqliteBatch(batch) });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true });
    await exited;
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver: this.driver, path: this.path } });
    // The thread must not keep a process alive on its own; close() ends it properly.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve();
      else waiter.reject(Object.assign(new Error(reply.message), reply.code ? { code: reply.code } : {}));
    });
    const fail = (err: Error): void => {
      // A crashed thread fails what it held; the next batch starts a new one.
      if (this.worker === worker) this.worker = null;
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`sqlite card writer thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
