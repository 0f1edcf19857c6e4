import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { AuthenticatedClient } from '../auth/types.js';
import type { CallSink, CardSink } from './card-sink.js';
import type { ReportOptions } from './analytics.js';

/** One CDS Hooks 2.0 feedback entry, as validated by the feedback route (checklist §5). */
export interface FeedbackEntry {
  card: string;
  outcome: 'accepted' | 'overridden';
  /** Present (one or more) when the outcome is accepted. */
  acceptedSuggestions?: Array<{ id: string }>;
  /** For overridden outcomes: a coded reason, a free-text comment, or both. */
  overrideReason?: { reason?: { system?: string; code: string; display?: string }; userComment?: string };
  /** RFC 3339 instant. */
  outcomeTimestamp: string;
}

export interface FeedbackResult {
  /** Entries written by this call. */
  stored: number;
  /** Entries already stored (an EHR retry), or repeated within the call: acknowledged, not written again. */
  duplicates: number;
  /** Stored entries whose card uuid this service never issued (or whose card record has expired). */
  unknownCards: number;
}

export interface OverrideReasonCount {
  /**
   * For a reason the service offers (a code of its override-reason CodeSystem), the service's own
   * display text, whatever the EHR echoed; "Other reason (not offered by this service)" for any other
   * Coding, whose code and display are never reported (EHRs put free text there); "(comment only)"
   * when the clinician typed a comment and no code; "(no reason given)" for a plain dismissal.
   * Comments themselves are never reported, only counted.
   */
  label: string;
  /** The service's CodeSystem for its reasons; for other reasons the EHR's system, when URI-shaped. */
  system?: string;
  /** Only for reasons the service offers. */
  code?: string;
  cards: number;
}

/** One line of the analytics report: a service and a card topic. */
export interface ReportRow {
  serviceId: string;
  /** `source.topic.code` of the cards; "(no topic)" for cards without one; "(unknown card)" for feedback on cards not on record. */
  topic: string;
  cardsIssued: number;
  /** Distinct patients the cards went to (counted through the keyed hash). */
  patients: number;
  /** Cards with at least one accepted feedback entry. */
  accepted: number;
  /** Cards with at least one overridden feedback entry. */
  overridden: number;
  /** accepted / (accepted + overridden); null when no card of the row has feedback. */
  acceptanceRate: number | null;
  /** Most frequent override reasons, at most five, most frequent first. */
  topOverrideReasons: OverrideReasonCount[];
  /** Overridden cards with a free-text comment (counted; the text is never reported). */
  withComment: number;
}

/** Cards issued on one UTC day, per service, topic and indicator. */
export interface IssuedByDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  serviceId: string;
  topic: string;
  indicator: string;
  cards: number;
}

/** Override reasons per service, across topics (all of them, most frequent first). */
export interface ServiceOverrideReason extends OverrideReasonCount {
  serviceId: string;
}

export interface SuggestionTypeCount {
  serviceId: string;
  /** What the suggestion's action does, e.g. "create ServiceRequest" (never its label). */
  type: string;
  /** Suggestions of this type on cards issued in the period. */
  offered: number;
  /** Of those cards' feedback: suggestions accepted. */
  accepted: number;
}

export interface DataGapCount {
  serviceId: string;
  prefetchKey: string;
  /** Calls answered 412 because this required key could not be had. */
  preconditionFailed: number;
  /** Calls answered with this optional key missing (the cards say so). */
  unavailable: number;
}

export interface CallStats {
  serviceId: string;
  calls: number;
  /** Answered 2xx. */
  ok: number;
  preconditionFailed: number;
  /** Other 4xx and 5xx answers. */
  failed: number;
  /** Nearest-rank median and 95th percentile of the time to answer, over all calls of the period. */
  medianMs: number | null;
  p95Ms: number | null;
}

/**
 * The analytics summary: `npm run report -- --json`, GET /admin/summary.json and the /admin page all
 * come from this one object (src/storage/analytics.ts). Counts only: no patient ids, no free text.
 */
export interface Report {
  since: string;
  generatedAt: string;
  /** The service the figures are limited to; null for all services. */
  serviceId: string | null;
  /** Per service and card topic (cards issued in the period, and their feedback). */
  rows: ReportRow[];
  issuedByDay: IssuedByDay[];
  overrideReasons: ServiceOverrideReason[];
  suggestions: SuggestionTypeCount[];
  dataGaps: DataGapCount[];
  calls: CallStats[];
}

/** In-process counters for the background card writer (exposed for logs, tests and a future /metrics). */
export interface StoreStats {
  /** Card events waiting to be written. */
  queued: number;
  /** Card events written. */
  written: number;
  /** Card events lost: a write failed, or the queue was full. */
  failed: number;
  /** Batches whose write took longer than the slow-write threshold. */
  slowWrites: number;
}

export interface StoreCounts {
  issuedCards: number;
  feedback: number;
  unknownCardFeedback: number;
}

export interface Store extends CardSink, CallSink {
  readonly kind: 'sqlite' | 'postgres';
  /** Open and migrated (not closed). */
  ready(): boolean;
  /** A cheap round trip to the database (SELECT 1); rejects when it cannot be reached. */
  ping(): Promise<void>;
  /**
   * Records that token `jti` of issuer `iss` was used, until `expiresAt`. Resolves true the first
   * time (or once the earlier use has expired), false for a replay — whichever instance saw it first.
   */
  claimJti(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
  /** Writes the entries in one transaction and resolves only once the write is durable (committed and synced). */
  recordFeedback(serviceId: string, entries: FeedbackEntry[], client?: AuthenticatedClient): Promise<FeedbackResult>;
  /**
   * The analytics summary for cards issued (and calls made) since the date, optionally for one
   * service; override reasons other than the offered ones are counted, never named.
   */
  report(opts: ReportOptions): Promise<Report>;
  /** Resolves once every card event queued so far has been written (or counted as failed). */
  flush(): Promise<void>;
  /** Deletes records older than the retention period; returns how many rows went. Runs at open and daily. */
  purge(now?: Date): Promise<{ cards: number; feedback: number }>;
  stats(): StoreStats;
  counts(): Promise<StoreCounts>;
  /** Flushes queued card events, then closes the database. */
  close(): Promise<void>;
}

export interface StoreOptions {
  logger: FastifyBaseLogger | Logger;
  /** Days to keep issued cards and feedback; 0 keeps them forever. */
  retentionDays: number;
  /** HMAC key for patient identifiers. When absent, a random key is generated once and kept in the database. */
  patientKey?: string;
  /** Run the retention purge at open and daily (default true; the report command turns it off). */
  maintenance?: boolean;
  /**
   * For sqlite: take the file's instance lock, so a second service process on the same file is
   * refused at startup (default true; the report command, a reader, turns it off).
   */
  exclusive?: boolean;
  /** For sqlite: fail instead of creating a missing database file (the report command). */
  mustExist?: boolean;
  /** A card batch slower than this is logged and counted (default 1000 ms). */
  slowWriteMs?: number;
  /** PostgreSQL statement timeout, so a stuck write fails and is counted instead of piling up (default 5000 ms). */
  statementTimeoutMs?: number;
  /** How long issued cards wait to be written together in one transaction (default 50 ms; lost if the process is killed meanwhile). */
  batchDelayMs?: number;
  /** Card events held in memory while the database is slow; beyond it new events are dropped and counted (default 10,000). */
  maxQueue?: number;
}
