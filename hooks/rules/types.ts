import type { FindingId } from '../../src/findings/types.js';
import type { FiredFinding, Indicator, OrderPriority } from '../../src/cards/recommendation.js';
import type { CardTopic, DecisionRowId } from './card-topics.js';
import type { DraftImaging, Facts } from './facts.js';

/** An order a row wants, before merging across rows and checking for duplicates. */
export interface OrderNeed {
  /** Order catalog key (mappings/orders/catalog.yaml). */
  key: string;
  priority: OrderPriority;
  recommended: boolean;
}

/** What a fired row proposes; evaluate.ts turns it into a Recommendation. */
export interface RowOutcome {
  /** Overrides the row's default indicator (D3 arm+leg, D5 epidural abscess). */
  indicator?: Indicator;
  summary: string;
  guidance: string[];
  fired: FiredFinding[];
  notes?: string[];
  orders?: OrderNeed[];
  withdraw?: DraftImaging[];
  /** Extra sources for this firing (e.g. ACR cervical when the arm is involved). */
  extraSources?: string[];
  /** Override-reason codes (mappings/codesystems/override-reason.json). */
  overrideReasons?: string[];
}

/**
 * One row of decision table (b). Phases order the evaluation so a row can depend on earlier rows:
 * 1 red flags (D1–D5, D7), 2 elevated risk (D6: only if no phase-1 row fired), 3 judgements that
 * need "no D1–D7" (D9, D10, D13), 4 conservative care (D8, which D10 already carries).
 */
export interface DecisionRule {
  row: DecisionRowId;
  topic: CardTopic;
  /** The indicator of docs/clinical-rules.md (Card topics); an outcome may raise it. */
  indicator: Indicator;
  /** Seeds and guidelines the row cites (ids of hooks/sources.yaml). */
  sources: string[];
  phase: 1 | 2 | 3 | 4;
  /** Findings the judgement depends on: when unknown, the card says so. */
  reads: FindingId[];
  evaluate(facts: Facts, firedBefore: ReadonlySet<CardTopic>): RowOutcome | undefined;
}
