import { createHash, createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { CardsIssued } from '../events.js';
import type { FeedbackEntry, OverrideReasonCount, Report, ReportRow, StoreStats } from './types.js';

/** What both back-ends write for one issued card. Timestamps stay Dates here; each back-end converts. */
export interface IssuedCardRow {
  cardUuid: string;
  serviceId: string;
  hook: string;
  hookInstance: string;
  topic: string | null;
  indicator: string;
  /** JSON array of the card's suggestion uuids. */
  suggestionUuids: string;
  patientHash: string | null;
  issuer: string | null;
  tenant: string | null;
  issuedAt: Date;
}

export interface FeedbackRow {
  dedupKey: string;
  serviceId: string;
  cardUuid: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions: string | null;
  reasonSystem: string | null;
  reasonCode: string | null;
  reasonDisplay: string | null;
  comment: string | null;
  outcomeAt: Date;
  receivedAt: Date;
  issuer: string | null;
  tenant: string | null;
}

export const PATIENT_KEY_META = 'patient_hash_key';
/** The smallest PATIENT_HASH_KEY accepted: patient identifiers are guessable, so the key is the whole protection. */
export const MIN_PATIENT_KEY_LENGTH = 32;

/**
 * Keyed hash of a patient identifier: equal ids give equal hashes (distinct-patient counts), but
 * without the key nobody can test a guessed MRN against the table, as they could with a plain hash.
 */
export function patientHasher(key: string): (patientId: string) => string | null {
  return (patientId) => (patientId ? createHmac('sha256', key).update(patientId, 'utf8').digest('hex') : null);
}

export function issuedCardRows(event: CardsIssued, hashPatient: (id: string) => string | null): IssuedCardRow[] {
  const patientHash = hashPatient(event.patientId);
  return event.cards.map((card) => ({
    cardUuid: card.uuid,
    serviceId: event.serviceId,
    hook: event.hook,
    hookInstance: event.hookInstance,
    topic: card.source.topic?.code ?? null,
    indicator: card.indicator,
    suggestionUuids: JSON.stringify((card.suggestions ?? []).map((s) => s.uuid)),
    patientHash,
    issuer: event.issuer ?? null,
    tenant: event.tenant ?? null,
    issuedAt: event.at,
  }));
}

/**
 * The identity of a feedback entry, so an EHR retry is stored once: the same service, card, outcome,
 * instant, suggestions and reason. The instant is normalised (".000Z" and "+00:00" are the same
 * instant); suggestion order and the reason's display text do not make an entry different.
 */
export function feedbackRow(serviceId: string, entry: FeedbackEntry, receivedAt: Date, client?: { iss: string; tenant?: string }): FeedbackRow {
  const outcomeAt = new Date(entry.outcomeTimestamp);
  const accepted = entry.outcome === 'accepted' ? [...new Set((entry.acceptedSuggestions ?? []).map((s) => s.id))].sort() : null;
  const override = entry.outcome === 'overridden' ? entry.overrideReason : undefined;
  const reason = override?.reason;
  const identity = JSON.stringify([
    serviceId,
    entry.card,
    entry.outcome,
    outcomeAt.toISOString(),
    accepted,
    reason?.system ?? null,
    reason?.code ?? null,
    override?.userComment ?? null,
  ]);
  return {
    dedupKey: createHash('sha256').update(identity, 'utf8').digest('hex'),
    serviceId,
    cardUuid: entry.card,
    outcome: entry.outcome,
    acceptedSuggestions: accepted ? JSON.stringify(accepted) : null,
    reasonSystem: reason?.system ?? null,
    reasonCode: reason?.code ?? null,
    reasonDisplay: reason?.display ?? null,
    comment: override?.userComment ?? null,
    outcomeAt,
    receivedAt,
    issuer: client?.iss ?? null,
    tenant: client?.tenant ?? null,
  };
}

export type StoreLogger = FastifyBaseLogger | Logger;

/** Error fields safe to log: no SQL parameters (they could hold hashes or comments). */
export function errorSummary(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

const BATCH = 500;

/**
 * The background card writer: `enqueue` returns at once (the hook response never waits for the
 * database); batches are written after the current turn of the event loop, one batch at a time.
 * A failed or slow batch is logged and counted; the events of a failed batch are not retried, so a
 * database outage cannot grow memory without bound (the queue is capped too).
 */
export class CardWriter {
  private queue: CardsIssued[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private dropped = 0;
  private readonly counters = { written: 0, failed: 0, slowWrites: 0 };

  constructor(
    private readonly write: (rows: IssuedCardRow[]) => Promise<void>,
    private readonly hashPatient: (id: string) => string | null,
    private readonly log: StoreLogger,
    private readonly opts: { slowWriteMs: number; maxQueue: number; batchDelayMs: number },
  ) {}

  /** The CardSink contract lives here for both stores: never throw into the hook response path. */
  enqueue(event: CardsIssued): void {
    try {
      this.accept(event);
    } catch (err) {
      this.log.error({ err: errorSummary(err) }, 'card store enqueue failed');
    }
  }

  private accept(event: CardsIssued): void {
    if (event.cards.length === 0) return;
    if (this.queue.length >= this.opts.maxQueue) {
      const before = this.dropped;
      this.dropped += event.cards.length;
      this.counters.failed += event.cards.length;
      // The first drop, then one line per thousand: an outage must not also flood the log.
      if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.dropped / 1000)) {
        this.log.error({ failedCards: this.counters.failed, queued: this.queue.length }, 'card store queue full: issued cards dropped');
      }
      return;
    }
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      // The timer fires after the reply has been handed to the socket, and gathers the responses of
      // the next few milliseconds into one transaction: one fsync per batch, not one per response
      // (with SQLite the write runs on this thread, so fewer, larger batches block it less often).
      setTimeout(() => {
        this.scheduled = false;
        void this.drain();
      }, this.opts.batchDelayMs);
    }
  }

  stats(): StoreStats {
    return { queued: this.queue.reduce((n, e) => n + e.cards.length, 0), ...this.counters };
  }

  /** Resolves when everything queued before (and during) the call has been written or counted. */
  async flush(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      await (this.running ?? this.drain());
    }
  }

  private drain(): Promise<void> {
    if (this.running) return this.running;
    if (this.queue.length === 0) return Promise.resolve();
    // `.finally` runs in a later microtask, so `running` is always cleared after it was set (clearing
    // it inside a body that can finish synchronously would leave a settled promise in `running`
    // for ever, and flush() spinning on it).
    const run: Promise<void> = this.writeQueued().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const events = this.queue.splice(0, BATCH);
      const rows = events.flatMap((e) => issuedCardRows(e, this.hashPatient));
      const started = performance.now();
      try {
        await this.write(rows);
        this.counters.written += rows.length;
      } catch (err) {
        this.counters.failed += rows.length;
        this.log.error({ err: errorSummary(err), cards: rows.length, failedCards: this.counters.failed }, 'card store write failed: issued cards not recorded');
      }
      const ms = performance.now() - started;
      if (ms > this.opts.slowWriteMs) {
        this.counters.slowWrites += 1;
        this.log.warn({ durationMs: Math.round(ms), cards: rows.length, slowWrites: this.counters.slowWrites }, 'card store write slow');
      }
    }
  }
}

/** The same report SQL for both back-ends (`?` placeholders; PostgreSQL's are numbered by the back-end). */
export const REPORT_SQL = {
  cards: `
    SELECT service_id, COALESCE(topic, '(no topic)') AS topic, COUNT(*) AS cards, COUNT(DISTINCT patient_hash) AS patients
    FROM issued_cards
    WHERE issued_at >= ?
    GROUP BY 1, 2`,
  // Feedback is joined to its card when the report runs, not when it arrives: a card written a
  // moment after its feedback, or feedback an EHR retried late, still lands on the right topic.
  // Cohort: cards issued since the date (with all their feedback); feedback on unknown cards by outcome time.
  outcomes: `
    SELECT f.service_id,
           CASE WHEN c.card_uuid IS NULL THEN '(unknown card)' ELSE COALESCE(c.topic, '(no topic)') END AS topic,
           f.outcome, COUNT(DISTINCT f.card_uuid) AS cards
    FROM feedback f LEFT JOIN issued_cards c ON c.card_uuid = f.card_uuid AND c.service_id = f.service_id
    WHERE (c.card_uuid IS NOT NULL AND c.issued_at >= ?) OR (c.card_uuid IS NULL AND f.outcome_at >= ?)
    GROUP BY 1, 2, 3`,
  reasons: `
    SELECT f.service_id,
           CASE WHEN c.card_uuid IS NULL THEN '(unknown card)' ELSE COALESCE(c.topic, '(no topic)') END AS topic,
           f.override_reason_system AS system, f.override_reason_code AS code, MAX(f.override_reason_display) AS display,
           COUNT(DISTINCT f.card_uuid) AS cards
    FROM feedback f LEFT JOIN issued_cards c ON c.card_uuid = f.card_uuid AND c.service_id = f.service_id
    WHERE f.outcome = 'overridden'
      AND ((c.card_uuid IS NOT NULL AND c.issued_at >= ?) OR (c.card_uuid IS NULL AND f.outcome_at >= ?))
    GROUP BY 1, 2, 3, 4`,
};

type Num = number | string | bigint;
export interface ReportQueryRows {
  cards: Array<{ service_id: string; topic: string; cards: Num; patients: Num }>;
  outcomes: Array<{ service_id: string; topic: string; outcome: string; cards: Num }>;
  reasons: Array<{ service_id: string; topic: string; system: string | null; code: string | null; display: string | null; cards: Num }>;
}

const TOP_REASONS = 5;

export function assembleReport(since: Date, q: ReportQueryRows, now = new Date()): Report {
  const rows = new Map<string, ReportRow>();
  const row = (serviceId: string, topic: string): ReportRow => {
    const key = `${serviceId}\u0000${topic}`;
    let r = rows.get(key);
    if (!r) {
      r = { serviceId, topic, cardsIssued: 0, patients: 0, accepted: 0, overridden: 0, acceptanceRate: null, topOverrideReasons: [] };
      rows.set(key, r);
    }
    return r;
  };
  for (const c of q.cards) {
    const r = row(c.service_id, c.topic);
    r.cardsIssued = Number(c.cards);
    r.patients = Number(c.patients);
  }
  for (const o of q.outcomes) {
    const r = row(o.service_id, o.topic);
    if (o.outcome === 'accepted') r.accepted = Number(o.cards);
    else if (o.outcome === 'overridden') r.overridden = Number(o.cards);
  }
  for (const reason of q.reasons) {
    const r = row(reason.service_id, reason.topic);
    const entry: OverrideReasonCount = {
      label: reason.display ?? reason.code ?? '(comment only)',
      ...(reason.system ? { system: reason.system } : {}),
      ...(reason.code ? { code: reason.code } : {}),
      cards: Number(reason.cards),
    };
    r.topOverrideReasons.push(entry);
  }
  for (const r of rows.values()) {
    const answered = r.accepted + r.overridden;
    r.acceptanceRate = answered > 0 ? r.accepted / answered : null;
    r.topOverrideReasons = r.topOverrideReasons
      .sort((a, b) => b.cards - a.cards || a.label.localeCompare(b.label))
      .slice(0, TOP_REASONS);
  }
  return {
    since: since.toISOString(),
    generatedAt: now.toISOString(),
    rows: [...rows.values()].sort((a, b) => a.serviceId.localeCompare(b.serviceId) || a.topic.localeCompare(b.topic)),
  };
}

export function retentionCutoff(retentionDays: number, now: Date): Date | null {
  return retentionDays > 0 ? new Date(now.getTime() - retentionDays * 86_400_000) : null;
}

const DAY_MS = 86_400_000;

/**
 * Runs the retention purge at startup and then daily, logging what it removed; returns the stop
 * function for close(). Both stores use it, so retention behaves the same whatever DATABASE_URL says.
 */
export function scheduleRetention(
  purge: () => Promise<{ cards: number; feedback: number }>,
  opts: { logger: StoreLogger; retentionDays: number; maintenance?: boolean },
): () => void {
  if (opts.maintenance === false) return () => undefined;
  const run = (): void => {
    purge().then(
      (n) => (n.cards || n.feedback ? opts.logger.info({ purged: n, retentionDays: opts.retentionDays }, 'store retention purge') : undefined),
      (err: unknown) => opts.logger.error({ err: errorSummary(err) }, 'store retention purge failed'),
    );
  };
  run();
  const timer = setInterval(run, DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Deletes expired seen-jti rows every minute (they only need to outlive their token), logging a
 * failure rather than throwing; returns the stop function for close().
 */
export function scheduleJtiPurge(purge: () => Promise<number>, opts: { logger: StoreLogger; maintenance?: boolean }): () => void {
  if (opts.maintenance === false) return () => undefined;
  const timer = setInterval(() => {
    purge().catch((err: unknown) => opts.logger.warn({ err: errorSummary(err) }, 'seen-jti purge failed'));
  }, 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
