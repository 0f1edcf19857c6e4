import type { FhirResource } from 'fhir/r4';
import type { Evidence, Finding, FindingId, SpinalRegion } from '../../src/findings/types.js';
import type { FiredFinding } from '../../src/cards/recommendation.js';
import type { RuleSettings } from '../settings.js';
import type { RuleInput } from '../types.js';
import type { ImagingClass, RuleKnowledge } from './knowledge.js';

/**
 * Facts the rules reason over, derived once per call from the RuleInput. Everything here tolerates
 * malformed input (the advisor is fuzzed): a missing finding reads as `unknown`, never as absent.
 */

const WEEK_MS = 7 * 24 * 3600 * 1000;

export interface DraftImaging extends ImagingClass {
  /** `ServiceRequest/{id}`, when the draft has an id (needed to withdraw it). */
  resourceId?: string;
  display: string;
  priority?: string;
}

export interface Episode {
  /** LBP, LEG or ARM present. */
  present: boolean;
  /** Whole weeks since the earliest onset; undefined when any present episode finding has no onset. */
  weeks?: number;
  onset?: string;
  /** Episode findings whose onset is not recorded. */
  onsetMissing: FindingId[];
  /** Regions the radiation points to: LEG → lumbar, ARM → cervical (S0). */
  symptomRegions: SpinalRegion[];
}

export interface MotorFacts {
  present: boolean;
  /** Both legs or paraparesis (G82.2x): a cauda equina sign (D1). */
  bilateralLegs: boolean;
  arm: boolean;
  leg: boolean;
  /** Regions implied by the limbs affected; empty when the level is unclear. */
  regions: SpinalRegion[];
}

export interface Facts {
  input: RuleInput;
  settings: RuleSettings;
  knowledge: RuleKnowledge;
  nowMs: number;
  finding(id: FindingId): Finding;
  has(id: FindingId): boolean;
  fired(...ids: FindingId[]): FiredFinding[];
  episode: Episode;
  motor: MotorFacts;
  epiduralAbscess: boolean;
  /** Service advises on orders (order-select / order-sign). */
  orderContext: boolean;
  /** Spine imaging among the orders under review. */
  reviewedImaging: DraftImaging[];
  /** Every draft order in context, as resources, for duplicate checks. */
  allDrafts: FhirResource[];
  patientId: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Keeps only well-typed evidence fields: the rules and the card renderer may then trust them. */
function cleanOneEvidence(e: Record<string, unknown>): Evidence {
  const out: Evidence = { display: str(e.display) ?? 'recorded' };
  const reference = str(e.reference);
  if (reference) out.reference = reference;
  if (isRecord(e.code) && str(e.code.system) && str(e.code.code)) {
    out.code = { system: String(e.code.system), code: String(e.code.code) };
    const display = str(e.code.display);
    if (display) out.code.display = display;
  }
  if (isRecord(e.value) && typeof e.value.value === 'number' && Number.isFinite(e.value.value)) {
    out.value = { value: e.value.value, unit: str(e.value.unit) ?? '' };
  }
  const date = str(e.date);
  if (date) out.date = date;
  if (e.laterality === 'left' || e.laterality === 'right' || e.laterality === 'bilateral' || e.laterality === 'unspecified') out.laterality = e.laterality;
  if (e.limb === 'arm' || e.limb === 'leg') out.limb = e.limb;
  if (e.region === 'cervical' || e.region === 'thoracic' || e.region === 'lumbar') out.region = e.region;
  if (Array.isArray(e.qualifiers)) out.qualifiers = e.qualifiers.filter((q): q is string => typeof q === 'string');
  return out;
}

function cleanEvidence(value: unknown): Evidence[] {
  return Array.isArray(value) ? value.filter(isRecord).map(cleanOneEvidence) : [];
}

function normaliseFinding(id: FindingId, raw: unknown): Finding {
  if (!isRecord(raw)) {
    return { id, label: id, sources: [], state: 'unknown', evidence: [], note: 'not evaluated by the findings engine' };
  }
  const state = raw.state === 'present' || raw.state === 'absent' || raw.state === 'unknown' ? raw.state : 'unknown';
  const finding: Finding = {
    id,
    label: typeof raw.label === 'string' && raw.label ? raw.label : id,
    sources: Array.isArray(raw.sources) ? raw.sources.filter((s): s is string => typeof s === 'string') : [],
    state,
    evidence: cleanEvidence(raw.evidence),
  };
  if (Array.isArray(raw.laterality)) {
    finding.laterality = raw.laterality.filter((x) => x === 'left' || x === 'right' || x === 'bilateral' || x === 'unspecified') as Finding['laterality'];
  }
  if (Array.isArray(raw.limbs)) finding.limbs = raw.limbs.filter((x) => x === 'arm' || x === 'leg') as Finding['limbs'];
  if (Array.isArray(raw.regions)) finding.regions = raw.regions.filter((x) => x === 'cervical' || x === 'thoracic' || x === 'lumbar') as Finding['regions'];
  if (typeof raw.onset === 'string') finding.onset = raw.onset;
  if (typeof raw.note === 'string' && raw.note) finding.note = raw.note;
  return finding;
}

export function parseDateMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length < 4) return undefined;
  const ms = Date.parse(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
  return Number.isFinite(ms) ? ms : undefined;
}

function resolveNow(input: RuleInput): number {
  const now = input.now instanceof Date ? input.now.getTime() : Number.NaN;
  if (Number.isFinite(now)) return now;
  return parseDateMs(input.findings?.evaluatedAt) ?? Number.NaN;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function deriveEpisode(finding: (id: FindingId) => Finding, nowMs: number): Episode {
  const present = (['LBP', 'LEG', 'ARM'] as const).filter((id) => finding(id).state === 'present');
  const onsetMissing: FindingId[] = [];
  let earliest: number | undefined;
  let onset: string | undefined;
  for (const id of present) {
    const ms = parseDateMs(finding(id).onset);
    if (ms === undefined || ms > nowMs) {
      onsetMissing.push(id);
      continue;
    }
    if (earliest === undefined || ms < earliest) {
      earliest = ms;
      onset = finding(id).onset;
    }
  }
  const symptomRegions: SpinalRegion[] = [];
  if (present.includes('ARM')) symptomRegions.push('cervical');
  if (present.includes('LEG')) symptomRegions.push('lumbar');
  const episode: Episode = { present: present.length > 0, onsetMissing, symptomRegions };
  // A duration from a partial set of onsets would be a guess: only compute it when every one is known.
  if (earliest !== undefined && onsetMissing.length === 0 && Number.isFinite(nowMs)) {
    episode.weeks = Math.floor((nowMs - earliest) / WEEK_MS);
    if (onset) episode.onset = onset;
  }
  return episode;
}

function deriveMotor(motor: Finding): MotorFacts {
  if (motor.state !== 'present') return { present: false, bilateralLegs: false, arm: false, leg: false, regions: [] };
  const limbs = new Set<string>(motor.limbs ?? []);
  for (const e of motor.evidence) if (e.limb) limbs.add(e.limb);
  const legSides = new Set<string>();
  let paraparesis = false;
  let bilateralUnknownLimb = false;
  for (const e of motor.evidence) {
    if (e.qualifiers?.includes('paraparesis')) paraparesis = true;
    if (e.limb === 'leg' && e.laterality) legSides.add(e.laterality);
    // A bilateral deficit of unstated limb is read as both legs: missing it would miss cauda equina.
    if (!e.limb && e.laterality === 'bilateral') bilateralUnknownLimb = true;
  }
  if (!motor.evidence.some((e) => e.limb) && motor.laterality?.includes('bilateral') && !limbs.has('arm')) bilateralUnknownLimb = true;
  const bilateralLegs =
    paraparesis || bilateralUnknownLimb || legSides.has('bilateral') || (legSides.has('left') && legSides.has('right'));
  const arm = limbs.has('arm');
  const leg = limbs.has('leg') || bilateralLegs;
  const regions: SpinalRegion[] = [];
  if (arm) regions.push('cervical');
  if (leg) regions.push('lumbar');
  for (const r of motor.regions ?? []) if (!regions.includes(r)) regions.push(r);
  return { present: true, bilateralLegs, arm, leg, regions };
}

function orderDisplay(resource: Record<string, unknown>): string {
  const code = resource.code as { text?: unknown; coding?: unknown } | undefined;
  if (typeof code?.text === 'string' && code.text) return code.text;
  if (Array.isArray(code?.coding)) {
    const named = code.coding.find((c) => isRecord(c) && typeof c.display === 'string' && c.display);
    if (isRecord(named)) return String(named.display);
    const any = code.coding.find((c) => isRecord(c) && typeof c.code === 'string');
    if (isRecord(any)) return `${String(any.system ?? '')} ${String(any.code)}`.trim();
  }
  return 'spine imaging order';
}

/** Codings of a draft order's code, whatever the resource type (only ServiceRequest carries imaging). */
export function orderCodings(resource: unknown): { system?: string; code?: string }[] {
  if (!isRecord(resource)) return [];
  const code = resource.code;
  if (!isRecord(code) || !Array.isArray(code.coding)) return [];
  return code.coding.filter(isRecord) as { system?: string; code?: string }[];
}

export function classifyImagingOrder(resource: unknown, knowledge: RuleKnowledge): DraftImaging | undefined {
  if (!isRecord(resource) || resource.resourceType !== 'ServiceRequest') return undefined;
  for (const coding of orderCodings(resource)) {
    const cls = knowledge.classifyImagingCoding(coding);
    if (!cls) continue;
    const draft: DraftImaging = { ...cls, display: orderDisplay(resource) };
    if (typeof resource.id === 'string' && /^[A-Za-z0-9.-]{1,64}$/.test(resource.id)) draft.resourceId = `ServiceRequest/${resource.id}`;
    if (typeof resource.priority === 'string') draft.priority = resource.priority;
    return draft;
  }
  return undefined;
}

/** Epidural abscess (clinical-spec.md D5): the findings engine's qualifier, or the codes the spec names. */
const EPIDURAL_ABSCESS_CODES = new Set(['G06.1', '61974008', '63627007']);
function isEpiduralAbscess(e: Evidence): boolean {
  return (e.qualifiers?.includes('epidural-abscess') ?? false) || (e.code !== undefined && EPIDURAL_ABSCESS_CODES.has(e.code.code));
}

function safeResources(value: unknown): FhirResource[] {
  return Array.isArray(value) ? (value.filter(isRecord) as unknown as FhirResource[]) : [];
}

export function deriveFacts(input: RuleInput, settings: RuleSettings, knowledge: RuleKnowledge): Facts {
  const rawFindings: Record<string, unknown> = isRecord(input.findings) && isRecord(input.findings.findings) ? input.findings.findings : {};
  const cache = new Map<FindingId, Finding>();
  const finding = (id: FindingId): Finding => {
    let f = cache.get(id);
    if (!f) {
      f = normaliseFinding(id, rawFindings[id]);
      cache.set(id, f);
    }
    return f;
  };
  const has = (id: FindingId) => finding(id).state === 'present';
  const fired = (...ids: FindingId[]): FiredFinding[] =>
    unique(ids)
      .filter(has)
      .map((id) => {
        const f = finding(id);
        const out: FiredFinding = { id, label: f.label, evidence: f.evidence };
        if (f.note) out.note = f.note;
        return out;
      });

  const nowMs = resolveNow(input);
  const ordersUnderReview = safeResources(input.ordersUnderReview);
  const reviewedImaging = ordersUnderReview
    .map((r) => classifyImagingOrder(r, knowledge))
    .filter((d): d is DraftImaging => d !== undefined);
  const spinf = finding('SPINF');
  const advisesOn = isRecord(input.service) ? input.service.advisesOn : 'nothing';
  const patientId = isRecord(input.context) && typeof input.context.patientId === 'string' ? input.context.patientId : '';

  return {
    input,
    settings,
    knowledge,
    nowMs,
    finding,
    has,
    fired,
    episode: deriveEpisode(finding, nowMs),
    motor: deriveMotor(finding('MOTOR')),
    epiduralAbscess: spinf.state === 'present' && spinf.evidence.some(isEpiduralAbscess),
    orderContext: advisesOn === 'selections' || advisesOn === 'all-draft-orders',
    reviewedImaging,
    allDrafts: safeResources(input.allDraftOrders),
    patientId,
  };
}
