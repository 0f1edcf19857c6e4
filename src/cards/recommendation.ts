import type { Evidence, FindingId } from '../findings/types.js';
import type { Card, Coding } from './types.js';

/**
 * What the decision rules conclude, before it becomes a CDS Hooks Card. Rules (hooks/rules) build
 * Recommendations; src/cards/render.ts turns them into Cards. Keeping the two apart lets the rules
 * be tested on meaning (topic, orders, findings) and the cards on form (checklist section 4).
 */


export type Indicator = Card['indicator'];
export type OrderPriority = 'stat' | 'urgent' | 'routine';

/** A finding that made the rule fire, with the evidence a clinician needs to see why. */
export interface FiredFinding {
  id: FindingId;
  label: string;
  evidence: Evidence[];
  note?: string;
}

/** Data the judgement needed but did not have, or that was skipped. */
export interface MissingData {
  what: string;
  why: string;
}

/** An order the card suggests creating, already resolved against the order catalog. */
export interface OrderSuggestion {
  /** Order catalog key (mappings/orders/catalog.yaml). */
  key: string;
  display: string;
  kind: 'imaging' | 'lab' | 'referral';
  priority: OrderPriority;
  category: Coding;
  codes: Coding[];
  /** Evidence resources (`Condition/1`) cited as ServiceRequest.reasonReference. */
  reasonReferences: string[];
  /** Why, in words (ServiceRequest.reasonCode.text). */
  reasonText: string;
  recommended: boolean;
}

/** A draft order the card suggests withdrawing (delete action). */
export interface OrderWithdrawal {
  /** Relative reference, `ServiceRequest/{id}`. */
  resourceId: string;
  display: string;
}

export interface Recommendation {
  /** The decision-table row that concluded it, for the provenance extension (the content names its rows). */
  row: string;
  /** The card topic code (source.topic.code); the content plugged into the engine defines its topics. */
  topic: string;
  indicator: Indicator;
  /** Under 140 characters; says what to do. */
  summary: string;
  /** What to do, one markdown line each. */
  guidance: string[];
  fired: FiredFinding[];
  missing: MissingData[];
  /** Anything else the clinician must know: orders already covered, assumptions, unknown duration. */
  notes: string[];
  orders: OrderSuggestion[];
  withdrawals: OrderWithdrawal[];
  /** Source ids (S0–S4 or guideline ids of hooks/sources.yaml); the first guideline names the card. */
  sources: string[];
  overrideReasons: Coding[];
}
