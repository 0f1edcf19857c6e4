import { createHash, createHmac } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { CallCompleted, CardsIssued } from './card-sink.js';
import type { Card } from '../cards/types.js';
import type { FeedbackEntry, StoreStats } from './types.js';

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

/** One suggestion offered on an issued card, so accepted suggestions can be counted by type. */
export interface IssuedSuggestionRow {
  suggestionUuid: string;
  cardUuid: string;
  serviceId: string;
  suggestionType: string;
  issuedAt: Date;
}

export interface CallRow {
  serviceId: string;
  hook: string;
  status: number;
  durationMs: number;
  cards: number;
  calledAt: Date;
}

export interface DataGapRow {
  serviceId: string;
  prefetchKey: string;
  kind: 'precondition-failed' | 'unavailable';
  calledAt: Date;
}

/** Everything one background write commits together. */
export interface WriteBatch {
  cards: IssuedCardRow[];
  suggestions: IssuedSuggestionRow[];
  calls: CallRow[];
  gaps: DataGapRow[];
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
 * A suggestion's type, for "suggestions accepted per type": what its first action does, to which
 * kind of resource ("create ServiceRequest", "delete ServiceRequest"). Never its label, which names the order.
 */
export function suggestionType(suggestion: NonNullable<Card['suggestions']>[number]): string {
  const action = suggestion.actions?.[0];
  if (!action) return '(no action)';
  const resourceType = action.resource?.resourceType ?? action.resourceId?.split('/')[0];
  return resourceType && /^[A-Z][A-Za-z]+$/.test(resourceType) ? `${action.type} ${resourceType}` : action.type;
}

export function issuedSuggestionRows(event: CardsIssued): IssuedSuggestionRow[] {
  return event.cards.flatMap((card) =>
    (card.suggestions ?? []).map((s) => ({
      suggestionUuid: s.uuid,
      cardUuid: card.uuid,
      serviceId: event.serviceId,
      suggestionType: suggestionType(s),
      issuedAt: event.at,
    })),
  );
}

export function callRows(event: CallCompleted): { call: CallRow; gaps: DataGapRow[] } {
  const gap = (kind: DataGapRow['kind']) => (prefetchKey: string): DataGapRow => ({ serviceId: event.serviceId, prefetchKey, kind, calledAt: event.at });
  return {
    call: { serviceId: event.serviceId, hook: event.hook, status: event.status, durationMs: event.durationMs, cards: event.cards, calledAt: event.at },
    gaps: [...new Set(event.preconditionFailed)].map(gap('precondition-failed')).concat([...new Set(event.unavailable)].map(gap('unavailable'))),
  };
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

type Queued = { kind: 'cards'; event: CardsIssued } | { kind: 'call'; event: CallCompleted };

/**
 * The background card writer (and, since the dashboard, call-outcome writer): `enqueue` returns at once (the hook response never waits for the
 * database); batches are written after the current turn of the event loop, one batch at a time.
 * A failed or slow batch is logged and counted; the events of a failed batch are not retried, so a
 * database outage cannot grow memory without bound (the queue is capped too).
 */
export class CardWriter {
  private queue: Queued[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  /** Queue items (card batches and call records) dropped because the queue was full. */
  private droppedItems = 0;
  private readonly counters = { written: 0, failed: 0, slowWrites: 0 };

  constructor(
    private readonly write: (batch: WriteBatch) => Promise<void>,
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

  /** A finished service call: the same queue and batches as issued cards, the same never-throw contract. */
  enqueueCall(event: CallCompleted): void {
    try {
      this.accept({ kind: 'call', event });
    } catch (err) {
      this.log.error({ err: errorSummary(err) }, 'call store enqueue failed');
    }
  }

  private accept(item: Queued | CardsIssued): void {
    const queued: Queued = 'kind' in item ? item : { kind: 'cards', event: item };
    const cards = queued.kind === 'cards' ? queued.event.cards.length : 0;
    if (queued.kind === 'cards' && cards === 0) return;
    if (this.queue.length >= this.opts.maxQueue) {
      this.counters.failed += cards;
      // The first drop, then one line per thousand dropped items: an outage must not also flood the
      // log. Counted in items, not cards: a dropped call record carries no cards, and counting cards
      // logged every dropped call while no card had been dropped.
      if (this.droppedItems++ % 1000 === 0) {
        this.log.error({ failedCards: this.counters.failed, queued: this.queue.length }, 'card store queue full: issued cards dropped');
      }
      return;
    }
    this.queue.push(queued);
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
    return { queued: this.queue.reduce((n, e) => n + (e.kind === 'cards' ? e.event.cards.length : 0), 0), ...this.counters };
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
      const items = this.queue.splice(0, BATCH);
      const batch: WriteBatch = { cards: [], suggestions: [], calls: [], gaps: [] };
      for (const item of items) {
        if (item.kind === 'cards') {
          batch.cards.push(...issuedCardRows(item.event, this.hashPatient));
          batch.suggestions.push(...issuedSuggestionRows(item.event));
        } else {
          const { call, gaps } = callRows(item.event);
          batch.calls.push(call);
          batch.gaps.push(...gaps);
        }
      }
      const rows = batch.cards;
      const started = performance.now();
      try {
        await this.write(batch);
        this.counters.written += rows.length;
      } catch (err) {
        this.counters.failed += rows.length;
        this.log.error(
          { err: errorSummary(err), cards: rows.length, calls: batch.calls.length, failedCards: this.counters.failed },
          'card store write failed: issued cards not recorded',
        );
      }
      const ms = performance.now() - started;
      if (ms > this.opts.slowWriteMs) {
        this.counters.slowWrites += 1;
        this.log.warn({ durationMs: Math.round(ms), cards: rows.length, slowWrites: this.counters.slowWrites }, 'card store write slow');
      }
    }
  }
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
