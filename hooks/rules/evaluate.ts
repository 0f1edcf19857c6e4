import type { FindingId } from '../../src/findings/types.js';
import type {
  Indicator,
  MissingData,
  OrderSuggestion,
  Recommendation,
} from '../../src/cards/recommendation.js';
import type { Coding } from '../../src/cards/types.js';
import type { CardTopic } from './card-topics.js';
import type { RuleSettings } from '../settings.js';
import type { RuleInput } from '../types.js';
import { deriveFacts, parseDateMs, type Facts } from './facts.js';
import type { RuleKnowledge } from './knowledge.js';
import { findCoverage, priorityRank } from './orders.js';
import { RULES_IN_ORDER } from './table.js';
import type { DecisionRule, OrderNeed, RowOutcome } from './types.js';

/**
 * Runs decision table (b) over one call: evaluates every row, one Recommendation per fired row,
 * then merges the orders across rows (one MRI per region, the most urgent priority, contrast if any
 * row wants it) and drops orders already drafted or recently done, saying so on the card.
 */

const INDICATOR_RANK: Record<Indicator, number> = { critical: 0, warning: 1, info: 2 };
const MAX_REASON_REFERENCES = 10;

interface Fired {
  rule: DecisionRule;
  outcome: RowOutcome;
  indicator: Indicator;
}

/** Orders of the same family are one order: any MRI of a region, or the same lab/referral. */
function familyOf(key: string): string {
  const mri = /^mri-(cervical|thoracic|lumbar)-/.exec(key);
  return mri ? `mri-${mri[1]}` : key;
}

function missingFor(rule: DecisionRule, facts: Facts): MissingData[] {
  const missing: MissingData[] = [];
  for (const id of rule.reads) {
    const f = facts.finding(id);
    if (f.state === 'unknown') missing.push({ what: `${f.label} (${id})`, why: f.note ?? 'no data to assess it' });
  }
  const reads = new Set<FindingId>(rule.reads);
  const quality = Array.isArray(facts.input.findings?.dataQuality) ? facts.input.findings.dataQuality : [];
  for (const q of quality) {
    if (typeof q?.message !== 'string') continue;
    if (q.findingId !== undefined && !reads.has(q.findingId)) continue;
    missing.push({ what: typeof q.reference === 'string' ? `Skipped ${q.reference}` : 'Data quality', why: q.message });
  }
  const gaps = Array.isArray(facts.input.record?.gaps) ? facts.input.record.gaps : [];
  for (const gap of gaps) {
    if (typeof gap?.key !== 'string') continue;
    missing.push({ what: `${gap.key} not retrieved`, why: typeof gap.reason === 'string' ? gap.reason : 'unavailable' });
  }
  return missing;
}

function reasonReferences(outcome: RowOutcome): string[] {
  const refs = new Set<string>();
  for (const f of outcome.fired) {
    for (const e of f.evidence) {
      if (typeof e.reference === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/.test(e.reference)) refs.add(e.reference);
      // The first ones are kept; a long chart's hundreds of readings need not all be looked at.
      if (refs.size === MAX_REASON_REFERENCES) return [...refs];
    }
  }
  return [...refs];
}

/**
 * When the row's reason for imaging was last recorded: the newest evidence date among its fired
 * findings, the episode's onset included (cancer history plus back pain that began after the last
 * MRI is new). Undefined when none is dated: a prior study then cannot be shown to postdate it.
 */
const EPISODE_FINDINGS = new Set<FindingId>(['PAIN', 'TRIAL']);
function redFlagSince(outcome: RowOutcome): number | undefined {
  let newest: number | undefined;
  for (const f of outcome.fired) {
    if (EPISODE_FINDINGS.has(f.id)) continue;
    for (const e of f.evidence) {
      const ms = parseDateMs(e.date);
      if (ms !== undefined && (newest === undefined || ms > newest)) newest = ms;
    }
  }
  return newest;
}

function overrideCodings(codes: readonly string[] | undefined, knowledge: RuleKnowledge): Coding[] {
  return (codes ?? []).flatMap((code) => {
    const coding = knowledge.overrideReasons.get(code);
    return coding ? [coding] : [];
  });
}

export function evaluateRules(input: RuleInput, settings: RuleSettings, knowledge: RuleKnowledge): Recommendation[] {
  const facts = deriveFacts(input, settings, knowledge);
  // An order service with no spine imaging under review still raises red flags (never missed), but
  // gives no imaging or conservative-care judgement about orders it does not handle.
  const redFlagsOnly = facts.orderContext && facts.reviewedImaging.length === 0;

  const firedTopics = new Set<CardTopic>();
  const fired: Fired[] = [];
  for (const rule of RULES_IN_ORDER) {
    if (redFlagsOnly && rule.phase !== 1) continue;
    const outcome = rule.evaluate(facts, firedTopics);
    if (!outcome) continue;
    firedTopics.add(rule.topic);
    fired.push({ rule, outcome, indicator: outcome.indicator ?? rule.indicator });
  }

  // The most urgent card owns a shared order; the others point to it.
  const byUrgency = [...fired].sort((a, b) => INDICATOR_RANK[a.indicator] - INDICATOR_RANK[b.indicator]);
  const owners = new Map<string, { owner: Fired; need: OrderNeed; reasonRefs: Set<string> }>();
  const pointers = new Map<Fired, string[]>();
  for (const f of byUrgency) {
    for (const need of f.outcome.orders ?? []) {
      const family = familyOf(need.key);
      const existing = owners.get(family);
      if (!existing) {
        owners.set(family, { owner: f, need: { ...need }, reasonRefs: new Set(reasonReferences(f.outcome)) });
        continue;
      }
      if (priorityRank(need.priority) > priorityRank(existing.need.priority)) existing.need.priority = need.priority;
      if (need.key.endsWith('-wwo')) existing.need.key = need.key;
      existing.need.recommended ||= need.recommended;
      for (const r of reasonReferences(f.outcome)) existing.reasonRefs.add(r);
      if (existing.owner !== f) {
        const display = knowledge.orders.get(existing.need.key)?.display ?? need.key;
        const notes = pointers.get(f) ?? [];
        notes.push(`${display}: see the "${knowledge.topicDisplay[existing.owner.rule.topic]}" card.`);
        pointers.set(f, notes);
      }
    }
  }

  const ordersOf = new Map<Fired, OrderSuggestion[]>();
  const coverageNotes = new Map<Fired, string[]>();
  for (const { owner, need, reasonRefs } of owners.values()) {
    const def = knowledge.orders.get(need.key);
    if (!def) continue; // the loader guarantees the keys the table uses
    // Only an urgent imaging order with a prior study needs it, and it reads every piece of evidence.
    const coverage = findCoverage(def, need.priority, facts, () => redFlagSince(owner.outcome));
    if (coverage) {
      coverageNotes.set(owner, [...(coverageNotes.get(owner) ?? []), coverage.note]);
      if (!coverage.stillSuggest) continue;
    }
    const suggestion: OrderSuggestion = {
      key: def.key,
      display: def.display,
      kind: def.kind,
      priority: need.priority,
      category: knowledge.categories[def.kind],
      codes: def.codes.map(({ system, code, display }) => (display ? { system, code, display } : { system, code })),
      reasonReferences: [...reasonRefs].slice(0, MAX_REASON_REFERENCES),
      reasonText: knowledge.topicDisplay[owner.rule.topic],
      recommended: need.recommended,
    };
    ordersOf.set(owner, [...(ordersOf.get(owner) ?? []), suggestion]);
  }

  return byUrgency.map((f) => {
    const rec: Recommendation = {
      row: f.rule.row,
      topic: f.rule.topic,
      indicator: f.indicator,
      summary: f.outcome.summary,
      guidance: f.outcome.guidance,
      fired: f.outcome.fired,
      missing: missingFor(f.rule, facts),
      notes: [...(f.outcome.notes ?? []), ...(coverageNotes.get(f) ?? []), ...(pointers.get(f) ?? [])],
      orders: ordersOf.get(f) ?? [],
      withdrawals: (f.outcome.withdraw ?? []).flatMap((d) => (d.resourceId ? [{ resourceId: d.resourceId, display: d.display }] : [])),
      sources: [...new Set([...f.rule.sources, ...(f.outcome.extraSources ?? [])])],
      overrideReasons: overrideCodings(f.outcome.overrideReasons, knowledge),
    };
    return rec;
  });
}
