import type { Card } from '../cards/types.js';

/** Cards that went out in a response, for feedback analytics (issue: feedback and card analytics). */
export interface CardsIssued {
  serviceId: string;
  hook: string;
  hookInstance: string;
  /** Hashed by the store before it is written; never stored or logged in clear. */
  patientId: string;
  cards: readonly Card[];
  issuer?: string;
  tenant?: string;
  at: Date;
}

/**
 * Where issued cards go. Implementations must not throw and must not make the hook response wait:
 * a slow or failed write is logged and counted, and the cards still go out.
 */
export interface CardSink {
  cardsIssued(event: CardsIssued): void;
}

/**
 * One finished service call, for the governance dashboard: outcome, latency and the prefetch keys
 * that were missing. Key names and counts only: no patient data, no request content.
 */
export interface CallCompleted {
  serviceId: string;
  hook: string;
  /** The HTTP status answered (200, 412 when required prefetch could not be had, other 4xx/5xx). */
  status: number;
  /** Time to answer, as Fastify measured it (reply.elapsedTime). */
  durationMs: number;
  cards: number;
  /** Optional prefetch keys that could not be had (the call answered, with a data gap on the card). */
  unavailable: readonly string[];
  /** Required prefetch keys whose absence made the call answer 412. */
  preconditionFailed: readonly string[];
  at: Date;
}

/** Where call outcomes go; the same contract as CardSink: never throw, never make the response wait. */
export interface CallSink {
  callCompleted(event: CallCompleted): void;
}
