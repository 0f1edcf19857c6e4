import type { FhirResource } from 'fhir/r4';
import { completedYears, parseFhirDate } from '../../src/findings/dates.js';
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

/** Spine imaging already done: a report, a study (here or at an outside centre) or an imaging procedure. */
export interface PriorImaging extends ImagingClass {
  /** `DiagnosticReport/abc`, for the card. */
  reference: string;
  /** As charted: the report's or study's name. */
  display: string;
  /** ISO date of the study (effective, started or performed; else issued). */
  date: string;
  dateMs: number;
  /** Who performed or reported it, when charted (an outside centre). */
  performer?: string;
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
  /** Completed years from Patient.birthDate; undefined when unknown. */
  ageYears?: number;
  /** Under RULE_ADULT_MINIMUM_AGE: the adult low-value and conservative-care rules do not apply. */
  child: boolean;
  /** Any examination charted (an exam Observation or an exam finding): without it motor, saddle and UMN signs were not checked. */
  examRecorded: boolean;
  /** Spine imaging already done, newest first. */
  priorImaging: PriorImaging[];
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
  const out: Evidence[] = [];
  if (Array.isArray(value)) for (const e of value) if (isRecord(e)) out.push(cleanOneEvidence(e));
  return out;
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
  if (typeof raw.examined === 'boolean') finding.examined = raw.examined;
  return finding;
}

/**
 * The start of a FHIR date, dateTime or instant, read by the findings engine's parser so that a
 * zone-less time lands on the same day here as in the findings (UTC, whatever the server's TZ).
 */
export function parseDateMs(value: unknown): number | undefined {
  return parseFhirDate(value)?.start;
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
  const examOnly: FindingId[] = [];
  for (const id of present) {
    const ms = parseDateMs(finding(id).onset);
    if (ms === undefined || ms > nowMs) {
      // Sciatica found on examination (a positive straight-leg raise) has no onset of its own: the
      // episode's onset is the back or leg pain's, when one is recorded.
      if (finding(id).evidence.every((e) => e.qualifiers?.includes('examination-date'))) examOnly.push(id);
      else onsetMissing.push(id);
      continue;
    }
    if (earliest === undefined || ms < earliest) {
      earliest = ms;
      onset = finding(id).onset;
    }
  }
  if (earliest === undefined) onsetMissing.push(...examOnly);
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

/**
 * Epidural abscess (docs/clinical-rules.md D5): the findings engine's qualifier, or evidence coded in
 * the epidural-abscess value set. Matched by system and code, never by code alone: G06.1 or 61974008
 * in another code system is another concept.
 */
function isEpiduralAbscess(e: Evidence, knowledge: RuleKnowledge): boolean {
  if (Array.isArray(e.qualifiers) && e.qualifiers.includes('epidural-abscess')) return true;
  return isRecord(e.code) && knowledge.isEpiduralAbscessCoding(e.code);
}

const REPORT_DONE = new Set(['final', 'amended', 'corrected', 'appended', 'preliminary', 'partial']);
const STUDY_DONE = new Set(['available']);
const PROCEDURE_DONE = new Set(['completed', 'in-progress']);

/**
 * Region and modality named in words, for reports and studies coded only locally or by text. The
 * region letter may stand alone before "spine" as radiology worklists write it: "MRI L spine",
 * "L-spine", "LS spine", "C spine".
 */
function classifyByText(texts: string[], modalities: string[]): ImagingClass | undefined {
  const text = texts.join(' ');
  const region = /\b(lumbar|lumbosacral|l[- ]?spine|ls[- ]?spine)\b/i.test(text)
    ? 'lumbar'
    : /\b(cervical|c[- ]?spine)\b/i.test(text)
      ? 'cervical'
      : /\b(thoracic|t[- ]?spine|dorsal spine)\b/i.test(text)
        ? 'thoracic'
        : undefined;
  if (!region) return undefined;
  const mods = new Set(modalities.map((m) => m.toUpperCase()));
  const modality =
    mods.has('MR') || /\b(mri?|magnetic resonance)\b/i.test(text)
      ? 'MR'
      : mods.has('CT') || /\b(ct|computed tomography)\b/i.test(text)
        ? 'CT'
        : mods.has('CR') || mods.has('DX') || /\b(x-?ray|xr|radiograph\w*)\b/i.test(text)
          ? 'XR'
          : undefined;
  return modality ? { region, modality } : undefined;
}

function conceptTexts(concept: unknown): string[] {
  if (!isRecord(concept)) return [];
  const out: string[] = [];
  if (typeof concept.text === 'string') out.push(concept.text);
  if (Array.isArray(concept.coding)) for (const c of concept.coding) if (isRecord(c) && typeof c.display === 'string') out.push(c.display);
  return out;
}

function codingsOf(concept: unknown): { system?: string; code?: string }[] {
  return isRecord(concept) && Array.isArray(concept.coding) ? (concept.coding.filter(isRecord) as { system?: string; code?: string }[]) : [];
}

/** Spine imaging already done, from reports, studies and imaging procedures; unreadable ones are skipped. */
function derivePriorImaging(record: unknown, knowledge: RuleKnowledge, nowMs: number): PriorImaging[] {
  if (!isRecord(record)) return [];
  const out: PriorImaging[] = [];
  const add = (resource: Record<string, unknown>, type: string, concepts: unknown[], modalities: string[], dates: unknown[], performer?: string): void => {
    let cls: ImagingClass | undefined;
    for (const concept of concepts) {
      for (const coding of codingsOf(concept)) {
        cls = knowledge.classifyImagingCoding(coding);
        if (cls) break;
      }
      if (cls) break;
    }
    cls ??= classifyByText(concepts.flatMap(conceptTexts).concat(typeof resource.description === 'string' ? [resource.description] : []), modalities);
    if (!cls) return;
    let date: string | undefined;
    let dateMs: number | undefined;
    for (const d of dates) {
      dateMs = parseDateMs(d);
      if (dateMs !== undefined) {
        date = d as string;
        break;
      }
    }
    // An undated or future study cannot be placed against the red flag; it is not used.
    if (date === undefined || dateMs === undefined || dateMs > nowMs + 24 * 3600 * 1000) return;
    const display = concepts.flatMap(conceptTexts)[0] ?? (typeof resource.description === 'string' ? resource.description : `${cls.region} spine ${cls.modality}`);
    const id = typeof resource.id === 'string' ? resource.id : '';
    const item: PriorImaging = { ...cls, reference: `${type}/${id}`, display, date, dateMs };
    if (performer) item.performer = performer;
    out.push(item);
  };
  const performerOf = (r: Record<string, unknown>): string | undefined => {
    const p = Array.isArray(r.performer) ? r.performer.find((x) => isRecord(x) && typeof x.display === 'string') : undefined;
    return isRecord(p) ? String(p.display) : undefined;
  };
  const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
  for (const r of list(record.diagnosticReports)) {
    if (typeof r.status !== 'string' || !REPORT_DONE.has(r.status)) continue;
    const period = isRecord(r.effectivePeriod) ? r.effectivePeriod : {};
    add(r, 'DiagnosticReport', [r.code], [], [r.effectiveDateTime, period.start, r.issued], performerOf(r));
  }
  for (const r of list(record.imagingStudies)) {
    if (typeof r.status !== 'string' || !STUDY_DONE.has(r.status)) continue;
    const series = list(r.series);
    const modalities = [...(Array.isArray(r.modality) ? r.modality : []), ...series.map((x) => x.modality)].flatMap((m) => (isRecord(m) && typeof m.code === 'string' ? [m.code] : []));
    const concepts: unknown[] = [...(Array.isArray(r.procedureCode) ? r.procedureCode : []), ...series.map((x) => x.bodySite).filter(isRecord).map((site) => ({ coding: [site] }))];
    add(r, 'ImagingStudy', concepts, modalities, [r.started]);
  }
  for (const r of list(record.procedures)) {
    if (typeof r.status !== 'string' || !PROCEDURE_DONE.has(r.status)) continue;
    const period = isRecord(r.performedPeriod) ? r.performedPeriod : {};
    const performer = Array.isArray(r.performer) ? r.performer.map((p) => (isRecord(p) && isRecord(p.actor) ? p.actor.display : undefined)).find((d) => typeof d === 'string') : undefined;
    add(r, 'Procedure', [r.code], [], [r.performedDateTime, period.start], typeof performer === 'string' ? performer : undefined);
  }
  return out.sort((a, b) => b.dateMs - a.dateMs);
}

const EXAM_CATEGORY = 'exam';

/** Whether an examination is on record: an exam Observation, or an exam finding the findings engine read. */
function deriveExamRecorded(record: unknown, finding: (id: FindingId) => Finding): boolean {
  if ((['MOTOR', 'SADDLE', 'MYELO', 'CES'] as const).some((id) => finding(id).evidence.some((e) => e.qualifiers?.includes('examination')))) return true;
  if (!isRecord(record) || !Array.isArray(record.observations)) return false;
  for (const o of record.observations) {
    if (!isRecord(o) || !Array.isArray(o.category)) continue;
    for (const cat of o.category) {
      if (isRecord(cat) && Array.isArray(cat.coding) && cat.coding.some((c) => isRecord(c) && c.code === EXAM_CATEGORY)) return true;
    }
  }
  return false;
}

function ageInYears(record: unknown, nowMs: number): number | undefined {
  const patient = isRecord(record) && isRecord(record.patient) ? record.patient : undefined;
  const birth = parseFhirDate(patient?.birthDate);
  if (!birth || !Number.isFinite(nowMs)) return undefined;
  // A partial birth date ("1980", "1980-05"): the youngest the patient can be, as the age findings read it.
  return Math.max(0, completedYears(birth, nowMs).min);
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

  const ageYears = ageInYears(input.record, nowMs);
  const facts: Facts = {
    input,
    settings,
    knowledge,
    nowMs,
    finding,
    has,
    fired,
    episode: deriveEpisode(finding, nowMs),
    motor: deriveMotor(finding('MOTOR')),
    epiduralAbscess: spinf.state === 'present' && spinf.evidence.some((e) => isEpiduralAbscess(e, knowledge)),
    orderContext: advisesOn === 'selections' || advisesOn === 'all-draft-orders',
    reviewedImaging,
    allDrafts: safeResources(input.allDraftOrders),
    patientId,
    child: ageYears !== undefined && ageYears < settings.adultMinimumAge,
    examRecorded: deriveExamRecorded(input.record, finding),
    priorImaging: derivePriorImaging(input.record, knowledge, nowMs),
  };
  if (ageYears !== undefined) facts.ageYears = ageYears;
  return facts;
}
