import type { Card } from './cards/types.js';

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
