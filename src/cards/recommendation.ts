import type { Evidence, FindingId } from '../findings/types.js';
import type { Card, Coding } from './types.js';

/**
 * What the decision rules conclude, before it becomes a CDS Hooks Card. Rules (hooks/rules) build
 * Recommendations; src/cards/render.ts turns them into Cards. Keeping the two apart lets the rules
 * be tested on meaning (topic, orders, findings) and the cards on form (checklist section 4).
 */

/** Card topics: the public contract of each card (docs/clinical-rules.md, Card topics). */
export const CARD_TOPICS = [
  'cauda-equina',
  'myelopathy',
  'motor-deficit',
  'malignancy-suspected',
  'infection-suspected',
  'elevated-risk',
  'bilateral-radiculopathy',
  'conservative-care',
  'persistent-radiculopathy',
  'low-value-imaging',
  'insufficient-data',
  // Mimickers: non-spinal causes of back and leg pain (hooks/rules/mimickers.ts).
  'vascular-emergency',
  'possible-aaa',
  'dvt-suspected',
  'vascular-claudication',
  'spinal-stenosis',
  'neuropathy-workup',
  'hip-pathology',
  // issue 13: children (under RULE_ADULT_MINIMUM_AGE), outside the adult decision table
  'child-back-pain',
] as const;
export type CardTopic = (typeof CARD_TOPICS)[number];

export type Indicator = Card['indicator'];
export type OrderPriority = 'stat' | 'urgent' | 'routine';
/** D1–D13: the decision table; M1–M8: the mimickers; P1: children, to whom the adult table's judgements do not apply. */
export type DecisionRowId = 'D1' | 'D2' | 'D3' | 'D4' | 'D5' | 'D6' | 'D7' | 'D8' | 'D9' | 'D10' | 'D13'
  | 'M1' | 'M2' | 'M3' | 'M4' | 'M5' | 'M7' | 'M8' | 'P1';

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
  row: DecisionRowId;
  topic: CardTopic;
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
