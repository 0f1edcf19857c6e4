import type { OrderPriority } from '../../src/cards/recommendation.js';
import { classifyImagingOrder, orderCodings, parseDateMs, type Facts, type PriorImaging } from './facts.js';
import type { OrderDefinition } from './knowledge.js';

/**
 * Duplicate avoidance (docs/clinical-rules.md (Decision table)): never suggest an order equivalent to a draft order or
 * to a result from the last RULE_DUPLICATE_LOOKBACK_DAYS days. An MRI of a region is equivalent to any
 * MRI of that region (contrast is the radiologist's protocol choice); a lab or referral is equivalent
 * to any order or result with one of its codes.
 */

export interface Coverage {
  /** Shown on the card instead of the suggestion (or beside it, with `stillSuggest`). */
  note: string;
  /** The order is still offered: an urgent row whose red flag is newer than the prior study. */
  stillSuggest?: boolean;
}

const PRIORITY_RANK: Record<string, number> = { routine: 0, urgent: 1, asap: 2, stat: 3 };
const DAY_MS = 24 * 3600 * 1000;
const LIVE_REQUEST_STATUSES = new Set(['active', 'completed', 'on-hold']);
const RESULT_STATUSES = new Set(['final', 'amended', 'corrected', 'preliminary']);

export function priorityRank(priority: string | undefined): number {
  return priority !== undefined ? (PRIORITY_RANK[priority] ?? 0) : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Coded = { system?: unknown; code?: unknown };
/** system -> codes: answers "is this coding one of them" without building a string per coding. */
type CodeSet = ReadonlyMap<string, ReadonlySet<string>>;

function codeSet(codings: readonly Coded[]): CodeSet {
  const bySystem = new Map<string, Set<string>>();
  for (const c of codings) {
    if (typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    let codes = bySystem.get(c.system);
    if (!codes) bySystem.set(c.system, (codes = new Set()));
    codes.add(c.code);
  }
  return bySystem;
}

/**
 * Whether the resource's code has a coding in `wanted`. Reads the codings in place, without copies:
 * it runs over every observation of a long chart, once per lab order.
 */
function codedAnyOf(resource: Record<string, unknown>, wanted: CodeSet): boolean {
  const code = resource.code;
  if (!isRecord(code) || !Array.isArray(code.coding)) return false;
  for (const c of code.coding as unknown[]) {
    if (!isRecord(c)) continue;
    const { system, code: value } = c;
    if (typeof system === 'string' && typeof value === 'string' && wanted.get(system)?.has(value)) return true;
  }
  return false;
}

/**
 * An order's own codes (with their equivalents) and its result codes, built once per order
 * definition: coverage checks run them against every order and result in a long chart.
 */
const orderCodeSets = new WeakMap<OrderDefinition, { order: CodeSet; result: CodeSet }>();

function codeSetsOf(order: OrderDefinition): { order: CodeSet; result: CodeSet } {
  let sets = orderCodeSets.get(order);
  if (!sets) {
    sets = { order: codeSet([...order.codes, ...(order.equivalentCodes ?? [])]), result: codeSet(order.resultCodes ?? []) };
    // Stryker disable next-line CallExpression: a cache; not storing the sets only builds them again
    orderCodeSets.set(order, sets);
  }
  return sets;
}

/** Does this order resource (draft, recent request or procedure) do what `order` would do? */
function matches(resource: unknown, order: OrderDefinition, facts: Facts): boolean {
  if (!isRecord(resource)) return false;
  if (order.kind === 'imaging') {
    const cls = resource.resourceType === 'ServiceRequest'
      ? classifyImagingOrder(resource, facts.knowledge)
      : orderCodings(resource).map((c) => facts.knowledge.classifyImagingCoding(c)).find((c) => c !== undefined);
    return cls !== undefined && cls.region === order.region && cls.modality === order.modality;
  }
  return codedAnyOf(resource, codeSetsOf(order).order);
}

function withinLookback(dateMs: number | undefined, facts: Facts): boolean {
  if (dateMs === undefined || !Number.isFinite(facts.nowMs)) return false;
  const age = facts.nowMs - dateMs;
  return age >= -DAY_MS && age <= facts.settings.duplicateLookbackDays * DAY_MS;
}

function idOf(resource: Record<string, unknown>): string {
  return typeof resource.id === 'string' ? `${String(resource.resourceType)}/${resource.id}` : String(resource.resourceType);
}

const NONE: readonly unknown[] = [];

/** The list as it came, without a filtered copy: callers skip what is not an object. */
function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : NONE;
}

/**
 * The newest study of `region` and `modality` done within RULE_IMAGING_LOOKBACK_DAYS or since the
 * episode began, if any: what makes a routine repeat of it a duplicate.
 */
export function recentStudy(facts: Facts, region: string | undefined, modality: string | undefined): PriorImaging | undefined {
  if (!Number.isFinite(facts.nowMs)) return undefined;
  const lookbackStart = facts.nowMs - facts.settings.imagingLookbackDays * DAY_MS;
  const episodeStart = parseDateMs(facts.episode.onset);
  const from = episodeStart !== undefined ? Math.min(lookbackStart, episodeStart) : lookbackStart;
  return facts.priorImaging.find((p) => p.region === region && p.modality === modality && p.dateMs >= from);
}

export function studyText(p: PriorImaging): string {
  return `${p.display} on ${p.date.slice(0, 10)}${p.performer ? ` (${p.performer})` : ''}`;
}

/**
 * Imaging already done (issue 13). The 7-day window of the spec is for labs; for imaging:
 * - routine: not suggested again when a study of the region was done within RULE_IMAGING_LOOKBACK_DAYS
 *   or since the episode began; the card names the study and says to review the report or refer.
 * - urgent or stat (a red flag): the card names the prior study; the order is still offered when the
 *   red flag was recorded after the study (or its date is unknown), else the report is to be reviewed.
 * Only the same modality counts: a lumbar X-ray shows neither a disc nor a nerve root, so it does not
 * replace the MRI a surgical candidate (ACR LBP V3) or a red flag needs.
 */
function priorStudyCoverage(order: OrderDefinition, priority: OrderPriority, facts: Facts, redFlagSince: () => number | undefined): Coverage | undefined {
  const study = recentStudy(facts, order.region, order.modality);
  if (!study) return undefined;
  const urgent = priorityRank(priority) > 0;
  if (!urgent) {
    return { note: `${order.display}: not suggested again; ${studyText(study)} was done already: review the report, or refer to a spine specialist.` };
  }
  const redFlagSinceMs = redFlagSince();
  if (redFlagSinceMs === undefined || redFlagSinceMs > study.dateMs) {
    return { note: `Prior study: ${studyText(study)}. The red flag is newer than that study, so ${order.display} is still offered.`, stillSuggest: true };
  }
  return { note: `${order.display}: not suggested; ${studyText(study)} was done after the red flag was recorded: review that report now.` };
}

/**
 * Per observation list (one per call), the positions of the results (final, amended, corrected,
 * preliminary) by coding system and code: each lab order reads its own codes' results instead of
 * walking a long chart's observations once per order.
 */
const resultIndexes = new WeakMap<readonly unknown[], Map<string, Map<string, number[]>>>();

function resultIndex(observations: readonly unknown[]): Map<string, Map<string, number[]>> {
  let index = resultIndexes.get(observations);
  if (index) return index;
  index = new Map();
  resultIndexes.set(observations, index);
  for (let at = 0; at < observations.length; at++) {
    const obs = observations[at];
    if (!isRecord(obs) || typeof obs.status !== 'string' || !RESULT_STATUSES.has(obs.status)) continue;
    const code = obs.code;
    if (!isRecord(code) || !Array.isArray(code.coding)) continue;
    for (const c of code.coding as unknown[]) {
      if (!isRecord(c) || typeof c.system !== 'string' || typeof c.code !== 'string') continue;
      let bySystem = index.get(c.system);
      if (!bySystem) index.set(c.system, (bySystem = new Map()));
      const positions = bySystem.get(c.code);
      if (!positions) bySystem.set(c.code, [at]);
      else if (positions[positions.length - 1] !== at) positions.push(at);
    }
  }
  return index;
}

/** The positions, in record order, of the results with a coding in `wanted`. */
function resultsCoded(observations: readonly unknown[], wanted: CodeSet): number[] {
  const index = resultIndex(observations);
  const found: number[] = [];
  for (const [system, codes] of wanted) {
    const bySystem = index.get(system);
    if (!bySystem) continue;
    for (const code of codes) for (const at of bySystem.get(code) ?? []) found.push(at);
  }
  return found.length < 2 ? found : [...new Set(found)].sort((a, b) => a - b);
}

/** Why `order` should not be suggested again, or undefined when it should. */
export function findCoverage(order: OrderDefinition, priority: OrderPriority, facts: Facts, redFlagSince: () => number | undefined): Coverage | undefined {
  for (const draft of facts.allDrafts) {
    if (!matches(draft, order, facts)) continue;
    const d = draft as unknown as Record<string, unknown>;
    const draftPriority = typeof d.priority === 'string' ? d.priority : 'routine';
    const lower = priorityRank(draftPriority) < priorityRank(priority);
    return {
      note: `${order.display}: already in the draft orders (${idOf(d)}).${lower ? ` The draft is ${draftPriority}; this needs ${priority}: raise its priority.` : ''}`,
    };
  }
  const record: Record<string, unknown> = isRecord(facts.input.record) ? (facts.input.record as unknown as Record<string, unknown>) : {};
  const lookback = facts.settings.duplicateLookbackDays;
  for (const sr of list(record.serviceRequests)) {
    if (!isRecord(sr) || typeof sr.status !== 'string' || !LIVE_REQUEST_STATUSES.has(sr.status)) continue;
    // Code match first: it rejects almost every resource, and date parsing is the costly part.
    if (!matches(sr, order, facts)) continue;
    const when = parseDateMs(sr.authoredOn) ?? parseDateMs(sr.occurrenceDateTime);
    if (withinLookback(when, facts)) {
      return { note: `${order.display}: already ordered in the last ${lookback} days (${idOf(sr)}, ${sr.status}).` };
    }
  }
  if (order.kind === 'imaging') {
    const prior = priorStudyCoverage(order, priority, facts, redFlagSince);
    if (prior) return prior;
  }
  if (order.resultCodes && order.resultCodes.length > 0) {
    const observations = list(record.observations);
    for (const at of resultsCoded(observations, codeSetsOf(order).result)) {
      const obs = observations[at] as Record<string, unknown>;
      const period = isRecord(obs.effectivePeriod) ? obs.effectivePeriod : {};
      const when = parseDateMs(obs.effectiveDateTime) ?? parseDateMs(obs.effectiveInstant) ?? parseDateMs(period.start) ?? parseDateMs(obs.issued);
      if (!withinLookback(when, facts)) continue;
      const q = isRecord(obs.valueQuantity) ? obs.valueQuantity : undefined;
      const value = q && typeof q.value === 'number' ? ` ${q.value} ${typeof q.unit === 'string' ? q.unit : typeof q.code === 'string' ? q.code : ''}`.trimEnd() : '';
      const date = typeof obs.effectiveDateTime === 'string' ? ` on ${obs.effectiveDateTime.slice(0, 10)}` : '';
      return { note: `${order.display}: result from the last ${lookback} days (${idOf(obs)}${value ? `:${value}` : ''}${date}); not reordered.` };
    }
  }
  return undefined;
}
