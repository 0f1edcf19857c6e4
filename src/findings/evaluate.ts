import type { PatientRecord } from '../data/record.js';
import { completedYears, DAY_MS, parseFhirDate, type FhirInstant } from './dates.js';
import type { LoadedDefinition, MappingSet } from './loader.js';
import {
  asArray,
  codeElement,
  entriesOf,
  EXAM_KEY,
  indexRecord,
  isMedicationType,
  isObject,
  readCodings,
  RECORD_LISTS,
  referenceOf,
  type CodeGroup,
  type CodingRef,
  type IndexedType,
  type Json,
  type RecordIndex,
  type TypeIndex,
} from './record-index.js';
import type { Comparator, CriterionInput, StatusRule, WindowRule } from './schema.js';
import {
  FINDING_IDS,
  type DataQualityNote,
  type Evidence,
  type Finding,
  type FindingId,
  type FindingsResult,
  type Laterality,
  type Limb,
  type SpinalRegion,
} from './types.js';
import { convertUnit, ucumForDisplay } from './units.js';
import { ICD10CM, ICD10WHO, nameScanner, type CompiledValueSet, type NameMatcher, type NameRule, type NameScanner } from './valueset.js';

type Criterion<K extends CriterionInput['kind']> = Extract<CriterionInput, { kind: K }>;

/** What one criterion found. `judged` is false when the data needed to rule it out was not there. */
interface Outcome {
  evidence: Evidence[];
  judged: boolean;
  missing?: string;
  /** Exam criteria only: a usable examination was read (a sign, or a normal result). */
  examined?: boolean;
}

interface Ctx {
  mappings: MappingSet;
  index: RecordIndex;
  record: PatientRecord;
  now: number;
  results: Partial<Record<FindingId, Finding>>;
  notes: DataQualityNote[];
  noteKeys: Set<string>;
  notesKept: Map<FindingId, number>;
  notesDropped: Map<FindingId, number>;
  findingId: FindingId;
  /** Per type, the resources whose names hold a name some fallback lists (built on first use). */
  named: Map<IndexedType, NamedResources>;
  /** Per type and value set, the record's codes worth splitting by system (built on first use). */
  codesByValueSet: Map<IndexedType, Map<CompiledValueSet, string[]>>;
  /** Observations with a valueCodeableConcept, and by its codes (exam findings carried as a value; built on first use). */
  values?: { byCode: Map<string, Json[]>; all: Json[] };
  failed?: NonNullable<FindingsResult['failed']>;
}

interface NamedResource {
  resource: Json;
  concept: Json;
  names: string[];
  /** At least every name rule its names can satisfy. */
  possible: ReadonlySet<NameRule>;
}

interface NamedResources {
  list: NamedResource[];
  /** Per rule, the positions in `list` of the resources that may satisfy it, in record order. */
  byRule: Map<NameRule, number[]>;
  /** The rules the scan looked for. */
  known: ReadonlySet<NameRule>;
}

const UCUM = 'http://unitsofmeasure.org';

/**
 * Turns the record into the findings of docs/clinical-rules.md (Findings). Pure; never throws: anything it cannot
 * read is skipped with a data-quality note, and a finding whose data was not there is `unknown`.
 */
export function evaluateFindings(mappings: MappingSet, record: PatientRecord, now: Date): FindingsResult {
  const validNow = now instanceof Date && Number.isFinite(now.getTime());
  const nowMs = validNow ? now.getTime() : Date.now();
  const notes: DataQualityNote[] = validNow ? [] : [{ message: 'No valid evaluation time was given; the current time was used.' }];
  const noteKeys = new Set<string>();
  let index: RecordIndex;
  try {
    index = indexRecord(record);
  } catch (err) {
    // An empty index would make every coded finding "absent"; unknown is the truth.
    notes.push({ message: 'The patient record could not be read; every finding is unknown.' });
    const message = `the patient record could not be indexed: ${(err as Error)?.message ?? String(err)}`;
    const failed = mappings.definitions.map((def) => ({ findingId: def.id, label: def.label, message }));
    const findings = {} as Record<FindingId, Finding>;
    for (const def of mappings.definitions) findings[def.id] = { id: def.id, label: def.label, sources: def.sources, state: 'unknown', evidence: [], note: 'The patient record could not be read.' };
    for (const id of FINDING_IDS) findings[id] ??= { id, label: id, sources: [], state: 'unknown', evidence: [], note: 'No mapping defines this finding.' };
    return { evaluatedAt: new Date(nowMs).toISOString(), findings, dataQuality: notes, failed };
  }
  const results: Partial<Record<FindingId, Finding>> = {};
  const ctx: Ctx = { mappings, index, record, now: nowMs, results, notes, noteKeys, notesKept: new Map(), notesDropped: new Map(), findingId: 'LBP', named: new Map(), codesByValueSet: new Map() };
  for (const def of mappings.definitions) {
    ctx.findingId = def.id;
    try {
      results[def.id] = evaluateDefinition(def, ctx);
    } catch (err) {
      (ctx.failed ??= []).push({ findingId: def.id, label: def.label, message: (err as Error)?.message ?? String(err) });
      results[def.id] = {
        id: def.id,
        label: def.label,
        sources: def.sources,
        state: 'unknown',
        evidence: [],
        note: `Could not be evaluated: ${(err as Error)?.message ?? String(err)}`,
      };
    }
  }
  for (const [findingId, count] of ctx.notesDropped) {
    notes.push({ findingId, message: `${count} more data-quality notes of the same kind were not listed.` });
  }
  const findings = {} as Record<FindingId, Finding>;
  for (const id of FINDING_IDS) {
    findings[id] = results[id] ?? { id, label: id, sources: [], state: 'unknown', evidence: [], note: 'No mapping defines this finding.' };
  }
  return { evaluatedAt: new Date(nowMs).toISOString(), findings, dataQuality: notes, ...(ctx.failed ? { failed: ctx.failed } : {}) };
}

/** Notes kept per finding; past that they are counted, so a long chart cannot flood a card. */
const NOTES_PER_FINDING = 20;

function note(ctx: Ctx, message: string, reference?: string): void {
  const key = `${ctx.findingId}|${reference ?? ''}|${message}`;
  if (ctx.noteKeys.has(key)) return;
  ctx.noteKeys.add(key);
  const kept = ctx.notesKept.get(ctx.findingId) ?? 0;
  if (kept >= NOTES_PER_FINDING) {
    ctx.notesDropped.set(ctx.findingId, (ctx.notesDropped.get(ctx.findingId) ?? 0) + 1);
    return;
  }
  ctx.notesKept.set(ctx.findingId, kept + 1);
  ctx.notes.push(reference ? { reference, findingId: ctx.findingId, message } : { findingId: ctx.findingId, message });
}

function evaluateDefinition(def: LoadedDefinition, ctx: Ctx): Finding {
  const evidence: Evidence[] = [];
  const missing: string[] = [];
  let judged = true;
  let examined: boolean | undefined;
  for (const c of def.criteria) {
    const out = evaluateCriterion(c, ctx);
    if (out.examined !== undefined) examined = examined === true || out.examined;
    // A loop, not push(...): a spread passes each item as an argument, and a record with ~125,000
    // matching Conditions overflowed the stack (issue 14).
    for (const e of out.evidence) evidence.push(e);
    if (!out.judged) {
      judged = false;
      if (out.missing) missing.push(out.missing);
    }
  }
  const finding: Finding = {
    id: def.id,
    label: def.label,
    sources: def.sources,
    state: evidence.length > 0 ? 'present' : judged ? 'absent' : 'unknown',
    evidence,
  };
  if (examined !== undefined) finding.examined = examined;
  if (evidence.length > 0) {
    const lat = unique(evidence.map((e) => e.laterality));
    const limbs = unique(evidence.map((e) => e.limb));
    const regions = unique(evidence.map((e) => e.region));
    if (lat.length) finding.laterality = lat as Laterality[];
    if (limbs.length) finding.limbs = limbs as Limb[];
    if (regions.length) finding.regions = regions as SpinalRegion[];
    const onset = earliest(evidence);
    if (onset) finding.onset = onset;
  } else if (finding.state === 'unknown') {
    finding.note = def.unknownNote ?? (missing.length ? `Not enough data: ${unique(missing).join('; ')}.` : 'Not enough data.');
  }
  return finding;
}

function unique<T>(xs: (T | undefined)[]): T[] {
  return [...new Set(xs.filter((x): x is T => x !== undefined))];
}

function earliest(evidence: Evidence[]): string | undefined {
  let best: { iso: string; start: number } | undefined;
  for (const e of evidence) {
    // An exam finding is dated when it was examined, not when the symptom began.
    if (e.qualifiers?.includes(NOT_ONSET)) continue;
    const d = parseFhirDate(e.date);
    if (d && (!best || d.start < best.start)) best = { iso: d.iso, start: d.start };
  }
  return best?.iso;
}

function evaluateCriterion(c: CriterionInput, ctx: Ctx): Outcome {
  switch (c.kind) {
    case 'coded':
      return evaluateCoded(c, ctx);
    case 'measurement':
      return evaluateMeasurement(c, ctx);
    case 'age':
      return evaluateAge(c, ctx);
    case 'weight-change':
      return evaluateWeightChange(c, ctx);
    case 'medication-days':
      return evaluateMedicationDays(c, ctx);
    case 'derived':
      return evaluateDerived(c, ctx);
    case 'exam':
      return evaluateExam(c, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function valueSet(ctx: Ctx, ref: string): CompiledValueSet {
  const vs = ctx.mappings.valueSets.get(ref);
  if (!vs) throw new Error(`ValueSet ${ref} not loaded`);
  return vs;
}

function run(ctx: Ctx, source: string, resource: unknown): unknown[] {
  const fn = ctx.mappings.expressions.get(source);
  if (!fn) return [];
  try {
    return fn(resource);
  } catch {
    return [];
  }
}

/** `run(...)[0]` without the array: run once per candidate resource. */
function runFirst(ctx: Ctx, source: string, resource: unknown): unknown {
  const fn = ctx.mappings.expressions.get(source);
  if (!fn) return undefined;
  try {
    return fn.first(resource);
  } catch {
    return undefined;
  }
}

const DOTLESS_ICD = /^([A-Z][0-9][0-9A-Z])([0-9A-Z]{1,4})$/;

interface Candidate {
  resource: Json;
  /** The coding in the value set; for a name match, the coding whose display named it (or the first), if any. */
  coding?: CodingRef;
  display?: string;
  /** Set when matched by name (mappings/README.md), not by code. */
  byName?: true;
}

/** How notes and evidence name a candidate (a name match always has its display). */
function nameOf(cand: Candidate): string {
  return cand.display ?? cand.coding?.code ?? '(unnamed)';
}

const BY_NAME_QUALIFIER = 'matched-by-name';
/** Evidence says so when a name, not a code, matched: the clinician can check what the data said. */
function byNameSuffix(type: IndexedType): string {
  return isMedicationType(type) ? ' (matched by ingredient name)' : ' (matched by name; no code in the value set)';
}

/**
 * Visits the resources of `type` whose code element carries a coding in the value set, once each;
 * then, for a value set with a name fallback, the resources of that type none of whose codings is in
 * the set but whose text holds a listed name.
 * A visitor rather than a list, so a large record's candidates are not all kept alive at once.
 */
function eachCandidate(ctx: Ctx, type: IndexedType, vs: CompiledValueSet, visit: (cand: Candidate) => void): void {
  const idx = ctx.index.types.get(type);
  if (!idx) return;
  const names = vs.nameMatcher;
  // With a name fallback every coded match is tracked, so the name pass can leave them out.
  let seen: Set<Json> | undefined = names ? new Set() : undefined;
  let firstMatched: Json[] | undefined;
  for (const code of codesWorthALook(ctx, type, idx, vs)) {
    for (const { coding, resources } of entriesOf(idx.byCode.get(code) as CodeGroup)) {
      const hit = vs.lookup(coding.system, coding.code);
      if (!hit) {
        if (coding.system === ICD10CM || coding.system === ICD10WHO) warnDotless(ctx, type, vs, coding, resources);
        continue;
      }
      // A resource can only come twice when two of its codings are in the set: track from then on.
      if (!firstMatched) firstMatched = resources;
      else seen ??= new Set(firstMatched);
      const display = coding.display ?? hit.display;
      for (const resource of resources) {
        if (seen) {
          if (seen.has(resource)) continue;
          seen.add(resource);
        }
        visit(display === undefined ? { resource, coding } : { resource, coding, display });
      }
    }
  }
  if (names && seen) eachNamed(ctx, type, vs, names, seen, visit);
}

/**
 * The record's codes of `type` worth splitting by system for `vs` (it may hold them, or they are
 * dotless ICD-10 codes to warn about), in record order. Worked out once per call for every value set
 * the criteria read: each set asked every distinct code of the record, once per criterion.
 */
function codesWorthALook(ctx: Ctx, type: IndexedType, idx: TypeIndex, vs: CompiledValueSet): readonly string[] {
  const sets = codeSetsOf(ctx.mappings);
  if (!sets.all.has(vs)) return [...idx.byCode.keys()].filter((code) => worthALook(vs, code));
  let byValueSet = ctx.codesByValueSet.get(type);
  if (!byValueSet) {
    byValueSet = new Map();
    ctx.codesByValueSet.set(type, byValueSet);
    for (const code of idx.byCode.keys()) {
      for (const set of setsWorthALook(sets, code)) {
        const codes = byValueSet.get(set);
        if (codes) codes.push(code);
        else byValueSet.set(set, [code]);
      }
    }
  }
  return byValueSet.get(vs) ?? NO_CODES;
}

const NO_CODES: readonly string[] = [];

function worthALook(vs: CompiledValueSet, code: string): boolean {
  return mayHold(vs, code) || DOTLESS_ICD.test(code);
}

/**
 * Per code, the value sets read by criteria that may look at it. It depends only on the mappings and
 * the code, so it is kept across calls: the same codes come back patient after patient. Bounded, so a
 * flood of unknown codes cannot grow it without end.
 */
interface CodeSets {
  /** The value sets criteria look resources up in (the name scan reads their rules too). */
  all: ReadonlySet<CompiledValueSet>;
  byCode: Map<string, readonly CompiledValueSet[]>;
}

const codeSets = new WeakMap<MappingSet, CodeSets>();
const CODE_MEMO_LIMIT = 4096;

function codeSetsOf(mappings: MappingSet): CodeSets {
  let sets = codeSets.get(mappings);
  if (!sets) codeSets.set(mappings, (sets = { all: candidateSets(mappings), byCode: new Map() }));
  return sets;
}

function setsWorthALook(sets: CodeSets, code: string): readonly CompiledValueSet[] {
  let found = sets.byCode.get(code);
  if (found === undefined) {
    const list: CompiledValueSet[] = [];
    for (const vs of sets.all) if (worthALook(vs, code)) list.push(vs);
    found = list;
    if (sets.byCode.size >= CODE_MEMO_LIMIT) sets.byCode.clear();
    sets.byCode.set(code, found);
  }
  return found;
}

/** Whether the value set may hold the code in any of its systems: codes it cannot hold are never split by system. */
function mayHold(vs: CompiledValueSet, code: string): boolean {
  for (const system of vs.systems) if (vs.lookup(system, code)) return true;
  return false;
}

/**
 * The name pass: only resources whose codes did not match (coded matches keep precedence), and
 * none with a coding the value set excludes. Names are the coding displays and the text.
 */
function eachNamed(ctx: Ctx, type: IndexedType, vs: CompiledValueSet, names: NameMatcher, seen: Set<Json>, visit: (cand: Candidate) => void): void {
  const named = namedResources(ctx, type);
  // Every set a criterion reads is scanned for; were one not, its rules would be tried on every resource.
  const scanned = names.rules.every((r) => named.known.has(r));
  for (const i of scanned ? positionsFor(named, names.rules) : named.list.keys()) {
    const { resource, concept, names: texts, possible } = named.list[i] as NamedResource;
    if (seen.has(resource)) continue;
    const hit = names.match(texts, scanned ? possible : undefined);
    if (hit === undefined) continue;
    const codings = readCodings(concept);
    if (codings.some((c) => vs.excludes(c.system, c.code))) continue;
    seen.add(resource);
    const coding = codings.find((c) => c.display === hit) ?? codings[0];
    const display = hit.trim();
    visit(coding ? { resource, coding, display, byName: true } : { resource, display, byName: true });
  }
}

/** The positions, in record order, of the named resources that may satisfy any of `rules`. */
function positionsFor(named: NamedResources, rules: readonly NameRule[]): readonly number[] {
  const lists: number[][] = [];
  for (const rule of rules) {
    const list = named.byRule.get(rule);
    if (list) lists.push(list);
  }
  if (lists.length <= 1) return lists[0] ?? [];
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** The name of a code element (its coding displays, then its text) that holds a listed name, if any. */
function nameHit(names: NameMatcher, concept: unknown): string | undefined {
  if (!isObject(concept)) return undefined;
  const texts: string[] = [];
  for (const c of asArray(concept.coding)) if (isObject(c) && typeof c.display === 'string') texts.push(c.display);
  if (typeof concept.text === 'string') texts.push(concept.text);
  return texts.length ? names.match(texts) : undefined;
}

/**
 * A requirement's name fallback counts like its codes: the required codings' displays may name it
 * ("Perineal structure"), and so may the resource's own name ("Saddle anaesthesia" says where).
 */
function requirementNamed(names: NameMatcher, required: unknown[], concept: unknown): boolean {
  const displays: string[] = [];
  for (const v of required) if (isObject(v) && typeof v.display === 'string') displays.push(v.display);
  return (displays.length > 0 && names.match(displays) !== undefined) || nameHit(names, concept) !== undefined;
}

/** A criterion's `requires` (e.g. a perineal body site): a required coding in its set, or its name fallback. */
function meetsRequirement(ctx: Ctx, requires: { codings: string; valueSet: string }, resource: Json, concept: unknown): boolean {
  const req = valueSet(ctx, requires.valueSet);
  const required = run(ctx, requires.codings, resource);
  return (
    required.some((v) => isObject(v) && typeof v.system === 'string' && typeof v.code === 'string' && req.lookup(v.system, v.code)) ||
    (req.nameMatcher !== undefined && requirementNamed(req.nameMatcher, required, concept))
  );
}

/**
 * Why one list per type and call: a dozen value sets have a name fallback, and walking a long
 * chart's conditions for each, testing every display against each set's names, doubled the cost of
 * findings. One walk keeps only the resources with a name any fallback lists (most have none), notes
 * which rules each may satisfy, and each set then reads only the resources its own rules may match.
 */
function namedResources(ctx: Ctx, type: IndexedType): NamedResources {
  const done = ctx.named.get(type);
  if (done) return done;
  const scan = scanOf(ctx.mappings);
  const named: NamedResources = { list: [], byRule: new Map(), known: scan?.scanner.rules ?? new Set() };
  ctx.named.set(type, named);
  if (!scan) return named;
  const rec: unknown = ctx.record;
  for (const resource of isObject(rec) ? asArray(rec[RECORD_LISTS[type]]) : []) {
    if (!isObject(resource)) continue;
    const concept = codeElement(type, resource);
    if (!isObject(concept)) continue;
    const names: string[] = [];
    let possible: ReadonlySet<NameRule> = NO_RULES;
    // Its own set only when two names each may satisfy rules: most resources share their display's.
    let own: Set<NameRule> | undefined;
    for (const c of asArray(concept.coding)) {
      if (!isObject(c) || typeof c.display !== 'string') continue;
      names.push(c.display);
      const rules = displayRules(scan, c.display);
      if (rules.size === 0) continue;
      if (possible.size === 0) possible = rules;
      else {
        own ??= new Set(possible);
        for (const rule of rules) own.add(rule);
        possible = own;
      }
    }
    // EHRs often copy the display into the text: a text seen as a display was read with it, and a
    // second copy could neither match first nor exclude anything the first did not.
    if (typeof concept.text === 'string' && !names.includes(concept.text)) {
      own ??= new Set(possible);
      scan.scanner.collect(concept.text, own);
      possible = own;
      names.push(concept.text);
    }
    if (possible.size === 0) continue;
    const at = named.list.push({ resource, concept, names, possible }) - 1;
    for (const rule of possible) {
      const positions = named.byRule.get(rule);
      if (positions) positions.push(at);
      else named.byRule.set(rule, [at]);
    }
  }
  return named;
}

interface NameScan {
  scanner: NameScanner;
  /**
   * The rules a coding display may satisfy. Displays are terminology text and the same ones come
   * back chart after chart; free text (CodeableConcept.text) may say anything about a patient and is
   * never kept. Bounded, emptied when full.
   */
  displays: Map<string, ReadonlySet<NameRule>>;
}

const NO_RULES: ReadonlySet<NameRule> = new Set();
const scans = new WeakMap<MappingSet, NameScan | null>();
const DISPLAY_MEMO_LIMIT = 4096;

function scanOf(mappings: MappingSet): NameScan | null {
  let scan = scans.get(mappings);
  if (scan === undefined) {
    // Only the sets whose resources are looked up by code (criteria): answer, body-site and qualifier
    // sets are matched on the one element they name, and words like "no" or "leg" would let nearly
    // every resource through this filter.
    const scanner = nameScanner([...codeSetsOf(mappings).all].flatMap((vs) => vs.nameMatcher?.rules ?? []));
    scan = scanner ? { scanner, displays: new Map() } : null;
    scans.set(mappings, scan);
  }
  return scan;
}

function candidateSets(mappings: MappingSet): Set<CompiledValueSet> {
  const refs: string[] = [];
  for (const def of mappings.definitions) {
    for (const c of def.criteria) {
      if (c.kind === 'coded' || c.kind === 'measurement' || c.kind === 'weight-change' || c.kind === 'medication-days') refs.push(c.valueSet);
      if (c.kind === 'exam') refs.push(...[c.findings, c.tests, c.grade?.valueSet].filter((r): r is string => r !== undefined));
    }
  }
  return new Set(refs.flatMap((r) => mappings.valueSets.get(r) ?? []));
}

function displayRules(scan: NameScan, display: string): ReadonlySet<NameRule> {
  let rules = scan.displays.get(display);
  if (rules === undefined) {
    const found = new Set<NameRule>();
    scan.scanner.collect(display, found);
    rules = found.size ? found : NO_RULES;
    if (scan.displays.size >= DISPLAY_MEMO_LIMIT) scan.displays.clear();
    scan.displays.set(display, rules);
  }
  return rules;
}

/** FHIR writes ICD-10-CM with its dot; a dotless code is not matched, but never silently. */
function warnDotless(ctx: Ctx, type: string, vs: CompiledValueSet, coding: CodingRef, resources: Json[]): void {
  const m = DOTLESS_ICD.exec(coding.code);
  if (!m) return;
  const dotted = `${m[1]}.${m[2]}`;
  if (!vs.lookup(coding.system, dotted)) return;
  for (const r of resources) {
    note(ctx, `ICD-10 code "${coding.code}" is written without its dot; it was not matched (did it mean ${dotted}?)`, referenceOf(type, r));
  }
}

function statusCodes(type: string, resource: Json): string[] | undefined {
  const el = type === 'Condition' ? resource.clinicalStatus : resource.status;
  // A plain string is the STU3 shape (and Observation.status); a coding without a system still says something.
  if (typeof el === 'string') return [el];
  if (!isObject(el)) return undefined;
  const codes = asArray(el.coding).flatMap((c) => (isObject(c) && typeof c.code === 'string' ? [c.code] : []));
  return codes.length ? codes : undefined;
}

function verificationCodes(resource: Json): string[] {
  const el = resource.verificationStatus;
  if (typeof el === 'string') return [el];
  if (!isObject(el)) return [];
  return asArray(el.coding).flatMap((c) => (isObject(c) && typeof c.code === 'string' ? [c.code] : []));
}

type StatusVerdict = 'counts' | 'counts-if-recent' | 'no';

function judgeStatus(ctx: Ctx, rule: StatusRule, type: string, resource: Json, ref: string | undefined): StatusVerdict {
  if (rule.excludedVerification && verificationCodes(resource).some((v) => rule.excludedVerification?.includes(v))) return 'no';
  if (rule.allowed === 'any') return 'counts';
  const codes = statusCodes(type, resource);
  if (!codes) {
    const field = type === 'Condition' ? 'clinicalStatus' : 'status';
    if (rule.whenMissing === 'count') {
      note(ctx, `${type} has no ${field}; counted as current.`, ref);
      return 'counts';
    }
    note(ctx, `${type} has no ${field}; not used.`, ref);
    return 'no';
  }
  if (codes.some((c) => (rule.allowed as string[]).includes(c))) return 'counts';
  return rule.otherStatusesWithinDays !== undefined ? 'counts-if-recent' : 'no';
}

/** Withdrawn on purpose; skipping them needs no explanation on a card. */
const SILENT_OBSERVATION_STATUSES = new Set(['entered-in-error', 'cancelled']);

/** Clock skew and time zones allowed before a date counts as after the evaluation time. */
const FUTURE_TOLERANCE_MS = DAY_MS;

/** Data dated after `now` did not exist yet at the time judged (and is a data error in live use). */
function isFuture(ctx: Ctx, date: FhirInstant, cand: Candidate, ref: string | undefined): boolean {
  if (date.start <= ctx.now + FUTURE_TOLERANCE_MS) return false;
  note(ctx, `${nameOf(cand)} is dated ${date.iso}, after the evaluation time; not used.`, ref);
  return true;
}

/** `type` names the resource in a note; the reference is made only when a note needs it (most dates read cleanly). */
function firstDate(ctx: Ctx, sources: string[], resource: Json, type: IndexedType): FhirInstant | undefined {
  // The common case, one readable value in the first source, without building result arrays.
  const d = sources.length ? parseFhirDate(runFirst(ctx, sources[0] as string, resource)) : undefined;
  if (d) return d;
  for (const src of sources) {
    for (const v of run(ctx, src, resource)) {
      const d = parseFhirDate(v);
      if (d) return d;
      if (v !== undefined && v !== null) {
        note(ctx, `Unreadable date ${JSON.stringify(v)?.slice(0, 40)} ignored.`, referenceOf(type, resource));
      }
    }
  }
  return undefined;
}

/** The earliest instant a date may have to still count, or undefined for no window. */
function windowStart(ctx: Ctx, w: WindowRule | undefined): number | undefined {
  if (!w) return undefined;
  if (w.sinceOnsetOf) {
    const starts = w.sinceOnsetOf
      .map((id) => ctx.results[id])
      .filter((f): f is Finding => f?.state === 'present' && f.onset !== undefined)
      .map((f) => parseFhirDate(f.onset)?.start)
      .filter((n): n is number => n !== undefined);
    if (starts.length) return Math.min(...starts);
  }
  return w.lookbackDays !== undefined ? ctx.now - w.lookbackDays * DAY_MS : undefined;
}

function compare(a: number, op: Comparator, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

function conceptText(resource: Json, type: IndexedType): string | undefined {
  const el = isMedicationType(type) ? resource.medicationCodeableConcept : resource.code;
  return isObject(el) && typeof el.text === 'string' ? el.text : undefined;
}

interface EvidenceShape {
  limb?: Limb | undefined;
  region?: SpinalRegion | undefined;
  laterality?: { codings?: string | undefined; left?: string | undefined; right?: string | undefined; bilateral?: string | undefined; fixed?: 'left' | 'right' | 'bilateral' | undefined } | undefined;
  qualifiers?: string[] | undefined;
  qualifiersByValueSet?: { valueSet: string; qualifier: string }[] | undefined;
}

function baseEvidence(ctx: Ctx, shape: EvidenceShape, type: IndexedType, cand: Candidate, date: FhirInstant | undefined): Evidence {
  const { resource, coding } = cand;
  const ev: Evidence = {
    display: cand.byName
      ? `${nameOf(cand)}${byNameSuffix(type)}`
      : (cand.display ?? conceptText(resource, type) ?? (coding ? `${coding.system}|${coding.code}` : 'unnamed')),
  };
  if (coding) {
    // A name match shows the coding as the data wrote it (not a value-set member).
    const codeDisplay = cand.byName ? coding.display : cand.display;
    ev.code = codeDisplay === undefined ? { system: coding.system, code: coding.code } : { system: coding.system, code: coding.code, display: codeDisplay };
  }
  const ref = referenceOf(type, resource);
  if (ref) ev.reference = ref;
  if (date) ev.date = date.iso;
  if (shape.limb) ev.limb = shape.limb;
  if (shape.region) ev.region = shape.region;
  if (shape.laterality) ev.laterality = lateralityOf(ctx, shape.laterality, resource);
  const qualifiers = [...(shape.qualifiers ?? [])];
  const codings = shape.qualifiersByValueSet?.length ? readCodings(codeElement(type, resource)) : [];
  for (const q of shape.qualifiersByValueSet ?? []) {
    const vs = valueSet(ctx, q.valueSet);
    // A qualifier set's name fallback counts like its codes: an epidural abscess written in words is
    // still the critical one (D5).
    const named = (): boolean => !!vs.nameMatcher && nameHit(vs.nameMatcher, codeElement(type, resource)) !== undefined && !codings.some((c) => vs.excludes(c.system, c.code));
    if (codings.some((c) => vs.lookup(c.system, c.code)) || named()) qualifiers.push(q.qualifier);
  }
  if (cand.byName) qualifiers.push(BY_NAME_QUALIFIER);
  if (qualifiers.length) ev.qualifiers = unique(qualifiers);
  return ev;
}

function lateralityOf(ctx: Ctx, rule: NonNullable<EvidenceShape['laterality']>, resource: Json): Laterality {
  if (rule.fixed) return rule.fixed;
  const sides = new Set<'left' | 'right' | 'bilateral'>();
  if (rule.codings) {
    const codings = run(ctx, rule.codings, resource);
    for (const v of codings) {
      if (!isObject(v) || typeof v.system !== 'string' || typeof v.code !== 'string') continue;
      // A SNOMED CT post-coordinated site carries its side as the laterality attribute (272741003=...).
      const code = v.code.includes(':') ? (/272741003\s*=\s*(\d+)/.exec(v.code)?.[1] ?? v.code) : v.code;
      for (const side of ['left', 'right', 'bilateral'] as const) {
        const ref = rule[side];
        if (ref && valueSet(ctx, ref).lookup(v.system, code)) sides.add(side);
      }
    }
    // A body site coded in a system the sets do not list, or given as text only ("both legs", a
    // string the expression returns), still says its side in words ("Right lower leg").
    if (sides.size === 0) {
      for (const v of codings) {
        const words = typeof v === 'string' ? v : isObject(v) && typeof v.display === 'string' ? v.display : undefined;
        if (words === undefined) continue;
        if (/\b(bilateral|both)\b/i.test(words)) sides.add('bilateral');
        if (/\bleft\b/i.test(words)) sides.add('left');
        if (/\bright\b/i.test(words)) sides.add('right');
      }
    }
  }
  if (sides.has('bilateral') || (sides.has('left') && sides.has('right'))) return 'bilateral';
  if (sides.has('left')) return 'left';
  if (sides.has('right')) return 'right';
  return 'unspecified';
}

function unavailable(ctx: Ctx, type: string): Outcome | undefined {
  return ctx.index.unavailable.has(type) ? { evidence: [], judged: false, missing: `${type} data could not be retrieved` } : undefined;
}

function noMatchOutcome(rule: CriterionInput & { noMatch: string }, hadData: boolean, what: string): Outcome {
  if (rule.noMatch === 'absent') return { evidence: [], judged: true };
  if (rule.noMatch === 'unknown-without-data' && hadData) return { evidence: [], judged: true };
  return { evidence: [], judged: false, missing: what };
}

// ---------------------------------------------------------------------------------------------
// Coded resources (Conditions, procedures, orders, medications)

function evaluateCoded(c: Criterion<'coded'>, ctx: Ctx): Outcome {
  const gap = unavailable(ctx, c.resource);
  const vs = valueSet(ctx, c.valueSet);
  const start = windowStart(ctx, c.window);
  const evidence: Evidence[] = [];
  eachCandidate(ctx, c.resource, vs, (cand) => {
    const { resource } = cand;
    const ref = referenceOf(c.resource, resource);
    const verdict = judgeStatus(ctx, c.status, c.resource, resource, ref);
    if (verdict === 'no') return;
    const date = firstDate(ctx, c.date, resource, c.resource);
    if (date && isFuture(ctx, date, cand, ref)) return;
    if (verdict === 'counts-if-recent') {
      const limit = ctx.now - (c.status.otherStatusesWithinDays ?? 0) * DAY_MS;
      if (!date) {
        note(ctx, `${nameOf(cand)} is not active and has no date; it cannot be placed within ${c.status.otherStatusesWithinDays} days and was not counted.`, ref);
        return;
      }
      if (date.end < limit) return;
    }
    if (start !== undefined) {
      if (!date) {
        if (c.missingDate === 'skip') {
          note(ctx, `${nameOf(cand)} has no date and was not used.`, ref);
          return;
        }
        note(ctx, `${nameOf(cand)} has no onset or recorded date; counted as recent because it is current.`, ref);
      } else if (date.end < start) return;
    }
    if (c.requires && !meetsRequirement(ctx, c.requires, resource, codeElement(c.resource, resource))) return;
    evidence.push(baseEvidence(ctx, c, c.resource, cand, date));
  });
  if (evidence.length) return { evidence, judged: true };
  return gap ?? noMatchOutcome(c, true, `no ${c.name} recorded`);
}

// ---------------------------------------------------------------------------------------------
// Measured values (temperature, ESR, CRP, pain score)

interface Reading {
  cand: Candidate;
  date: FhirInstant | undefined;
  value: number;
  unit: string;
  charted: { value: number; unit: string };
  ref: string | undefined;
}

/** A value normalised to the definition's UCUM unit, or undefined with a note saying why not. */
function readValue(
  ctx: Ctx,
  rule: { expression: string; unit: string; unitWhenAbsent?: string | undefined; molecularWeight?: number | undefined },
  resource: Json,
  ref: string | undefined,
  what: string,
): { value: number; unit: string; charted: { value: number; unit: string } } | undefined {
  const raw = runFirst(ctx, rule.expression, resource);
  let num: unknown;
  let unit: string | undefined;
  if (isObject(raw)) {
    num = raw.value;
    const code = typeof raw.code === 'string' && raw.code.trim() && (raw.system === undefined || raw.system === UCUM) ? raw.code.trim() : undefined;
    unit = code ?? (typeof raw.unit === 'string' && raw.unit.trim() ? raw.unit.trim() : undefined);
  } else {
    num = raw;
  }
  if (raw === undefined || num === undefined || num === null) {
    const why = isObject(resource.dataAbsentReason) ? ` (data absent: ${readCodings(resource.dataAbsentReason)[0]?.code ?? 'reason given'})` : '';
    note(ctx, `${what} has no value${why}; skipped.`, ref);
    return undefined;
  }
  if (typeof num !== 'number' || !Number.isFinite(num)) {
    note(ctx, `${what} has a value that is not a number (${JSON.stringify(num)?.slice(0, 30)}); skipped.`, ref);
    return undefined;
  }
  unit ??= rule.unitWhenAbsent;
  if (unit === undefined) {
    note(ctx, `${what} ${num} has no unit; skipped (expected ${rule.unit}).`, ref);
    return undefined;
  }
  let conv = convertUnit(num, unit, rule.unit, rule.molecularWeight);
  if (!conv.ok) {
    // A display spelling sent without a UCUM code ("°F", "C", "lbs"): read it as the unit it names.
    const named = ucumForDisplay(unit);
    const retry = named === undefined ? undefined : convertUnit(num, named, rule.unit, rule.molecularWeight);
    if (!retry?.ok) {
      note(ctx, `${what} ${num} has unit "${unit}" that cannot be converted to ${rule.unit}; skipped.`, ref);
      return undefined;
    }
    conv = retry;
    note(ctx, `${what}: unit "${unit}" read as ${named}.`, ref);
  }
  if (conv.note) note(ctx, `${what}: unit "${unit}" read as UCUM (${conv.note.split('\n')[0]}).`, ref);
  // The chart's own spelling of the unit ("°F") reads better to a clinician than its UCUM code ("[degF]").
  const chartedUnit = isObject(raw) && typeof raw.unit === 'string' && raw.unit.trim() ? raw.unit.trim() : unit;
  return { value: Math.round(conv.value * 1e9) / 1e9, unit: rule.unit, charted: { value: num, unit: chartedUnit } };
}

/** Visits each usable, normalised reading in the window; everything skipped is noted. */
function eachReading(
  ctx: Ctx,
  c: Criterion<'measurement'> | Criterion<'weight-change'>,
  windowFrom: number | undefined,
  visit: (r: Reading) => void,
): void {
  const vs = valueSet(ctx, c.valueSet);
  eachCandidate(ctx, 'Observation', vs, (cand) => {
    const { resource } = cand;
    const date = firstDate(ctx, c.date, resource, 'Observation');
    // Old readings outside the window are irrelevant, whatever their shape.
    if (date && windowFrom !== undefined && date.end < windowFrom) return;
    // Made only now: most readings of a long record fall outside the window.
    const ref = referenceOf('Observation', resource);
    if (date && isFuture(ctx, date, cand, ref)) return;
    const what = nameOf(cand);
    if (judgeStatus(ctx, c.status, 'Observation', resource, ref) === 'no') {
      const status = typeof resource.status === 'string' ? resource.status : undefined;
      if (status && !SILENT_OBSERVATION_STATUSES.has(status)) note(ctx, `${what} has status "${status}"; not used.`, ref);
      return;
    }
    const v = readValue(ctx, c.value, resource, ref, what);
    if (!v) return;
    if (!date) {
      const missingDate = c.kind === 'measurement' ? c.missingDate : 'skip';
      if (missingDate === 'skip') {
        note(ctx, `${what} ${v.value} ${v.unit} has no date (effective[x] or issued); not used.`, ref);
        return;
      }
      note(ctx, `${what} ${v.value} ${v.unit} has no date; counted as recent.`, ref);
    }
    visit({ cand, date, value: v.value, unit: v.unit, charted: v.charted, ref });
  });
}

function evaluateMeasurement(c: Criterion<'measurement'>, ctx: Ctx): Outcome {
  const gap = unavailable(ctx, 'Observation');
  const start = windowStart(ctx, c.window);
  const interp = c.interpretation ? valueSet(ctx, c.interpretation.valueSet) : undefined;
  const evidence: Evidence[] = [];
  let usable = 0;
  let latest: Reading | undefined;
  const judge = (r: Reading): void => {
    const byValue = c.threshold ? compare(r.value, c.threshold.comparator, c.threshold.value) : true;
    const byInterpretation =
      !byValue && !!interp && !!c.interpretation && run(ctx, c.interpretation.codings, r.cand.resource).some((v) => isObject(v) && typeof v.system === 'string' && typeof v.code === 'string' && interp.lookup(v.system, v.code));
    if (!byValue && !byInterpretation) return;
    const ev = baseEvidence(ctx, c, 'Observation', r.cand, r.date);
    ev.value = { value: r.value, unit: r.unit };
    ev.charted = r.charted;
    const qualifiers = [...(ev.qualifiers ?? [])];
    for (const q of c.qualifiersByValue ?? []) if (compare(r.value, q.comparator, q.threshold)) qualifiers.push(q.qualifier);
    if (byInterpretation) qualifiers.push('interpretation-high');
    if (qualifiers.length) ev.qualifiers = unique(qualifiers);
    evidence.push(ev);
  };
  eachReading(ctx, c, start, (r) => {
    usable++;
    if (c.select === 'all') judge(r);
    else if (!latest || (r.date?.end ?? -Infinity) > (latest.date?.end ?? -Infinity)) latest = r;
  });
  if (latest) judge(latest);
  if (evidence.length) return { evidence, judged: true };
  return gap ?? noMatchOutcome(c, usable > 0, `no usable ${c.name} in the last ${c.window.lookbackDays ?? '?'} days`);
}

// ---------------------------------------------------------------------------------------------
// Age from Patient.birthDate

function evaluateAge(c: Criterion<'age'>, ctx: Ctx): Outcome {
  const patient: unknown = ctx.record && (ctx.record as { patient?: unknown }).patient;
  if (!isObject(patient)) return { evidence: [], judged: false, missing: 'no Patient resource' };
  const ref = referenceOf('Patient', patient);
  const raw = run(ctx, c.birthDate, patient)[0];
  const birth = parseFhirDate(raw);
  if (!birth) {
    if (raw !== undefined) note(ctx, `Patient.birthDate ${JSON.stringify(raw)?.slice(0, 30)} is not a date.`, ref);
    return { evidence: [], judged: false, missing: 'no birth date' };
  }
  const { min, max } = completedYears(birth, ctx.now);
  const lo = compare(min, c.comparator, c.years);
  const hi = compare(max, c.comparator, c.years);
  if (lo !== hi) {
    note(ctx, `Birth date ${birth.iso} is too imprecise to tell whether age ${c.comparator} ${c.years}.`, ref);
    return { evidence: [], judged: false, missing: 'birth date too imprecise' };
  }
  if (!lo) return { evidence: [], judged: true };
  const ev: Evidence = { display: `Age ${min === max ? min : `${min}-${max}`} years (born ${birth.iso})`, value: { value: min, unit: c.unit } };
  if (ref) ev.reference = ref;
  return { evidence: [ev], judged: true };
}

// ---------------------------------------------------------------------------------------------
// Body-weight drop against an earlier weight

function evaluateWeightChange(c: Criterion<'weight-change'>, ctx: Ctx): Outcome {
  const gap = unavailable(ctx, 'Observation');
  // Only weights that could be the latest or its baseline matter.
  const from = ctx.now - (c.latestWithinDays + c.baselineDays.max) * DAY_MS;
  const all: (Reading & { date: FhirInstant })[] = [];
  eachReading(ctx, c, from, (r) => {
    if (r.date) all.push(r as Reading & { date: FhirInstant });
  });
  const what = `two body weights ${c.baselineDays.min}-${c.baselineDays.max} days apart, the latest within ${c.latestWithinDays} days`;
  if (all.length === 0) return gap ?? noMatchOutcome(c, false, what);
  const latest = all.reduce((a, b) => (b.date.start > a.date.start ? b : a));
  if (latest.date.end < ctx.now - c.latestWithinDays * DAY_MS) return gap ?? noMatchOutcome(c, false, what);
  const baselines = all.filter((r) => {
    const gapDays = (latest.date.start - r.date.start) / DAY_MS;
    return gapDays >= c.baselineDays.min && gapDays <= c.baselineDays.max;
  });
  if (baselines.length === 0) return gap ?? noMatchOutcome(c, false, what);
  const baseline = baselines.reduce((a, b) => (b.value > a.value ? b : a));
  const dropPercent = ((baseline.value - latest.value) / baseline.value) * 100;
  if (!(baseline.value > 0) || dropPercent < c.dropPercent) return { evidence: [], judged: true };
  const rounded = Math.round(dropPercent * 10) / 10;
  const mk = (r: Reading & { date: FhirInstant }, display: string): Evidence => {
    const ev: Evidence = { display, value: { value: r.value, unit: r.unit }, charted: r.charted, date: r.date.iso };
    if (r.cand.coding) ev.code = { system: r.cand.coding.system, code: r.cand.coding.code };
    if (r.ref) ev.reference = r.ref;
    if (c.qualifiers?.length) ev.qualifiers = [...c.qualifiers];
    return ev;
  };
  return {
    evidence: [
      // No weights in the words: the card shows each as charted (a weight in lb stays in lb) beside its date.
      mk(latest, `Body weight, down ${rounded}% from the weight of ${baseline.date.iso.slice(0, 10)}:`),
      mk(baseline, 'Earlier body weight:'),
    ],
    judged: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Days of systemic glucocorticoid in the look-back period

function evaluateMedicationDays(c: Criterion<'medication-days'>, ctx: Ctx): Outcome {
  const vs = valueSet(ctx, c.valueSet);
  const from = ctx.now - c.lookbackDays * DAY_MS;
  const intervals: [number, number][] = [];
  const used: Candidate[] = [];
  let undetermined = 0;
  let gap = false;
  for (const type of c.resources) {
    if (ctx.index.unavailable.has(type)) gap = true;
    const status = c.status[type] as StatusRule;
    const period = c.periods[type];
    if (!period) continue;
    eachCandidate(ctx, type, vs, (cand) => {
      const { resource } = cand;
      const ref = referenceOf(type, resource);
      if (judgeStatus(ctx, status, type, resource, ref) === 'no') return;
      const start = firstDate(ctx, period.start, resource, type);
      if (!start) {
        note(ctx, `${nameOf(cand)} has no start date; its duration cannot be counted.`, ref);
        undetermined++;
        return;
      }
      let end: number | undefined;
      if (period.supplyDuration) {
        const days = durationDays(run(ctx, period.supplyDuration, resource)[0]);
        if (days !== undefined) {
          const repeatsRaw = period.repeats ? run(ctx, period.repeats, resource)[0] : undefined;
          const repeats = typeof repeatsRaw === 'number' && Number.isFinite(repeatsRaw) && repeatsRaw >= 0 ? repeatsRaw : 0;
          end = start.start + days * (1 + repeats) * DAY_MS;
        }
      }
      if (end === undefined && period.end) end = firstDate(ctx, period.end, resource, type)?.end;
      if (end === undefined) {
        const codes = statusCodes(type, resource) ?? [];
        if (period.openEndedStatuses?.some((s) => codes.includes(s))) end = ctx.now;
      }
      if (end === undefined) {
        note(ctx, `${nameOf(cand)} from ${start.iso} has no stated duration or end; its days cannot be counted.`, ref);
        undetermined++;
        return;
      }
      const a = Math.max(start.start, from);
      const b = Math.min(end, ctx.now);
      if (b > a) {
        intervals.push([a, b]);
        used.push(cand);
      }
    });
  }
  const days = Math.round(unionLength(intervals) / DAY_MS);
  if (days >= c.minimumDays) {
    const typeOf = (r: Json): IndexedType => (r.resourceType === 'MedicationRequest' ? 'MedicationRequest' : 'MedicationStatement');
    const evidence = used.map((cand) => {
      const ev = baseEvidence(ctx, { qualifiers: [`${c.qualifierPrefix}:${days}`] }, typeOf(cand.resource), cand, undefined);
      return ev;
    });
    return { evidence, judged: true };
  }
  if (gap) return { evidence: [], judged: false, missing: 'medication data could not be retrieved' };
  if (undetermined > 0) return { evidence: [], judged: false, missing: `${c.name}: duration of ${undetermined} order(s) not stated` };
  return noMatchOutcome(c, true, c.name);
}

function durationDays(v: unknown): number | undefined {
  if (!isObject(v) || typeof v.value !== 'number') return undefined;
  const unit = typeof v.code === 'string' ? v.code : typeof v.unit === 'string' ? v.unit : undefined;
  if (!unit) return undefined;
  const conv = convertUnit(v.value, unit, 'd');
  return conv.ok && conv.value >= 0 ? conv.value : undefined;
}

function unionLength(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [a, b] of sorted) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

// ---------------------------------------------------------------------------------------------
// Derived from another finding (BILAT from LEG)

function evaluateDerived(c: Criterion<'derived'>, ctx: Ctx): Outcome {
  const source = ctx.results[c.from];
  if (!source || source.state === 'unknown') return { evidence: [], judged: false, missing: `${c.from} is unknown` };
  if (source.state === 'absent') return { evidence: [], judged: true };
  const sides = new Set(source.evidence.map((e) => e.laterality));
  const matching = c.lateralityAnyOf.find((set) => set.every((s) => sides.has(s)));
  if (matching) {
    const evidence = source.evidence.filter((e) => e.laterality && (matching as string[]).includes(e.laterality));
    return { evidence: evidence.map((e) => ({ ...e })), judged: true };
  }
  if (sides.has('unspecified')) return { evidence: [], judged: false, missing: `the side of ${c.from} is not recorded` };
  return { evidence: [], judged: true };
}

// ---------------------------------------------------------------------------------------------
// Examination findings charted as Observations (foot drop, Babinski, muscle strength 2/5, ...)

/** Evidence from an exam Observation whose date is when it was examined, not when the symptom began. */
export const NOT_ONSET = 'examination-date';

type ExamRole = 'finding' | 'test' | 'grade';
type Answer = 'positive' | 'negative' | 'none' | 'other';

/**
 * Observations with a valueCodeableConcept, and their value codings by code: one walk per call, so
 * each exam criterion reads only these (most Observations carry a number, not a concept).
 */
function valueIndex(ctx: Ctx): { byCode: Map<string, Json[]>; all: Json[] } {
  if (ctx.values) return ctx.values;
  const byCode = new Map<string, Json[]>();
  const all: Json[] = [];
  const rec: unknown = ctx.record;
  for (const resource of isObject(rec) ? asArray(rec.observations) : []) {
    if (!isObject(resource) || !isObject(resource.valueCodeableConcept)) continue;
    all.push(resource);
    for (const c of asArray(resource.valueCodeableConcept.coding)) {
      if (!isObject(c) || typeof c.code !== 'string') continue;
      let list = byCode.get(c.code);
      if (!list) byCode.set(c.code, (list = []));
      if (list[list.length - 1] !== resource) list.push(resource);
    }
  }
  ctx.values = { byCode, all };
  return ctx.values;
}

/** Observations whose value (not code) is in the set, or names a listed name. */
function eachValueCandidate(ctx: Ctx, vs: CompiledValueSet, visit: (cand: Candidate) => void): void {
  const seen = new Set<Json>();
  const values = valueIndex(ctx);
  for (const [code, resources] of values.byCode) {
    if (!mayHold(vs, code)) continue;
    for (const resource of resources) {
      if (seen.has(resource)) continue;
      const coding = readCodings(resource.valueCodeableConcept).find((c) => c.code === code && vs.lookup(c.system, c.code));
      if (!coding) continue;
      seen.add(resource);
      const display = coding.display ?? vs.lookup(coding.system, coding.code)?.display;
      visit(display === undefined ? { resource, coding } : { resource, coding, display });
    }
  }
  if (!vs.nameMatcher) return;
  for (const resource of values.all) {
    if (seen.has(resource) || !isObject(resource.valueCodeableConcept)) continue;
    const hit = nameHit(vs.nameMatcher, resource.valueCodeableConcept);
    if (hit === undefined) continue;
    if (readCodings(resource.valueCodeableConcept).some((c) => vs.excludes(c.system, c.code))) continue;
    seen.add(resource);
    visit({ resource, display: hit.trim(), byName: true });
  }
}

/** What an answer (value[x] or interpretation) says, against the criterion's positive and negative sets. */
function answerOf(resource: Json, positive: CompiledValueSet, negative: CompiledValueSet): Answer {
  const judge = (concept: unknown): Answer | undefined => {
    const codings = readCodings(concept);
    if (codings.some((c) => negative.lookup(c.system, c.code))) return 'negative';
    if (codings.some((c) => positive.lookup(c.system, c.code))) return 'positive';
    if (negative.nameMatcher && nameHit(negative.nameMatcher, concept) !== undefined) return 'negative';
    if (positive.nameMatcher && nameHit(positive.nameMatcher, concept) !== undefined) return 'positive';
    return undefined;
  };
  const text = (t: string): unknown => ({ text: t });
  let answer: Answer = 'none';
  if (typeof resource.valueBoolean === 'boolean') answer = resource.valueBoolean ? 'positive' : 'negative';
  else if (isObject(resource.valueCodeableConcept)) answer = judge(resource.valueCodeableConcept) ?? 'other';
  else if (typeof resource.valueString === 'string') answer = judge(text(resource.valueString)) ?? 'other';
  else if (resource.valueQuantity !== undefined || resource.valueInteger !== undefined) answer = 'other';
  // An interpretation that denies the finding wins over a bare value; one that confirms it fills a gap.
  for (const i of asArray(resource.interpretation)) {
    const said = judge(i);
    if (said === 'negative') return 'negative';
    if (said === 'positive' && answer !== 'negative') answer = 'positive';
  }
  return answer;
}

/** Results that decide nothing: a finding charted with one of them is not counted. */
const UNDECIDED = /\b(equivocal|indeterminate|unable|not tested|not assessed|not examined|deferred|declined|unknown)\b/i;

function valueText(resource: Json): string {
  if (typeof resource.valueString === 'string') return resource.valueString;
  const v = resource.valueCodeableConcept;
  if (!isObject(v)) return '';
  if (typeof v.text === 'string') return v.text;
  return readCodings(v).map((c) => c.display ?? c.code).join(', ');
}

/** A muscle-strength grade (MRC 0-5) from valueQuantity, valueInteger or a "4/5" / "4+" string or answer. */
function gradeOf(resource: Json): number | undefined {
  const q = resource.valueQuantity;
  if (isObject(q) && typeof q.value === 'number') return q.value;
  if (typeof resource.valueInteger === 'number') return resource.valueInteger;
  const texts: string[] = [];
  if (typeof resource.valueString === 'string') texts.push(resource.valueString);
  if (isObject(resource.valueCodeableConcept)) {
    if (typeof resource.valueCodeableConcept.text === 'string') texts.push(resource.valueCodeableConcept.text);
    for (const c of readCodings(resource.valueCodeableConcept)) {
      if (c.display) texts.push(c.display);
      texts.push(c.code);
    }
  }
  for (const t of texts) {
    const m = /^\s*(?:grade\s*)?([0-5])\s*([+-])?\s*(?:\/\s*5)?\s*$/i.exec(t) ?? /\b([0-5])\s*([+-])?\s*\/\s*5\b/.exec(t);
    if (m) return Number(m[1]) + (m[2] === '+' ? 0.5 : m[2] === '-' ? -0.5 : 0);
  }
  return undefined;
}

function evaluateExam(c: Criterion<'exam'>, ctx: Ctx): Outcome {
  const gap = unavailable(ctx, 'Observation') ?? (ctx.index.unavailable.has(EXAM_KEY) ? { evidence: [], judged: false, missing: 'examination findings could not be retrieved' } : undefined);
  const start = windowStart(ctx, c.window);
  const positive = valueSet(ctx, c.positive);
  const negative = valueSet(ctx, c.negative);
  const present = c.findingAnswers ? valueSet(ctx, c.findingAnswers.present) : positive;
  const absent = c.findingAnswers ? valueSet(ctx, c.findingAnswers.absent) : negative;
  const evidence: Evidence[] = [];
  const done = new Set<Json>();
  let negatives = 0;
  const consider = (role: ExamRole, inValue: boolean) => (cand: Candidate): void => {
    const { resource } = cand;
    if (done.has(resource)) return;
    done.add(resource);
    const ref = referenceOf('Observation', resource);
    if (judgeStatus(ctx, c.status, 'Observation', resource, ref) === 'no') {
      const status = typeof resource.status === 'string' ? resource.status : undefined;
      if (status && !SILENT_OBSERVATION_STATUSES.has(status)) note(ctx, `${nameOf(cand)} has status "${status}"; not used.`, ref);
      return;
    }
    if (isObject(resource.dataAbsentReason)) {
      const why = readCodings(resource.dataAbsentReason)[0]?.code ?? (typeof resource.dataAbsentReason.text === 'string' ? resource.dataAbsentReason.text : 'reason given');
      note(ctx, `${nameOf(cand)} was not assessed (data absent: ${why}); not used.`, ref);
      return;
    }
    const date = firstDate(ctx, c.date, resource, 'Observation');
    if (date && isFuture(ctx, date, cand, ref)) return;
    if (date && start !== undefined && date.end < start) return;
    if (!date) {
      if (c.missingDate === 'skip') {
        note(ctx, `${nameOf(cand)} has no date and was not used.`, ref);
        return;
      }
      note(ctx, `${nameOf(cand)} has no date; counted as current.`, ref);
    }
    let display = nameOf(cand);
    const grade = role === 'grade' ? gradeOf(resource) : undefined;
    if (grade !== undefined) {
      if (!(grade < (c.grade?.below ?? 0))) {
        negatives++;
        return;
      }
      display = `${display}: ${Number.isInteger(grade) ? grade : `${Math.round(grade)}${grade > Math.round(grade) ? '+' : '-'}`}/5`;
    } else {
      // A grade given in words ("reduced", "normal") is read like a test result.
      const asTest = role !== 'finding';
      const answer = inValue ? 'positive' : asTest ? answerOf(resource, positive, negative) : answerOf(resource, present, absent);
      if (answer === 'negative') {
        negatives++;
        return;
      }
      if (!asTest && answer === 'other' && UNDECIDED.test(valueText(resource))) {
        note(ctx, `${display}: the result is "${valueText(resource)}"; not used.`, ref);
        return;
      }
      if (asTest && answer !== 'positive') {
        if (answer === 'other') note(ctx, `${display}: the result could not be read as positive or negative; not used.`, ref);
        else negatives++; // a test charted without a result says nothing; counted as examined
        return;
      }
      if (asTest) {
        const said = isObject(resource.valueCodeableConcept) ? (readCodings(resource.valueCodeableConcept)[0]?.display ?? resource.valueCodeableConcept.text) : typeof resource.valueString === 'string' ? resource.valueString : resource.valueBoolean === true ? 'yes' : undefined;
        if (typeof said === 'string' && said) display = `${display}: ${said}`;
      }
    }
    if (c.requires && !meetsRequirement(ctx, c.requires, resource, resource.code)) return;
    // The display carries the result ("Babinski reflex: Positive"); a name match says so after it.
    const shown: Candidate = cand.coding ? { resource, coding: cand.coding, display } : { resource, display };
    const ev = baseEvidence(ctx, c, 'Observation', shown, date);
    if (cand.byName) ev.display = `${display}${byNameSuffix('Observation')}`;
    if (c.limbBySite && !ev.limb) {
      const sites = run(ctx, c.limbBySite.codings, resource);
      const inSet = (ref: string): boolean => {
        const vs = valueSet(ctx, ref);
        return sites.some((v) => isObject(v) && typeof v.system === 'string' && typeof v.code === 'string' && vs.lookup(v.system, v.code)) ||
          (vs.nameMatcher !== undefined && sites.some((v) => isObject(v) && typeof v.display === 'string' && vs.nameMatcher?.match([v.display]) !== undefined));
      };
      if (inSet(c.limbBySite.leg)) {
        ev.limb = 'leg';
        ev.region ??= 'lumbar';
      } else if (inSet(c.limbBySite.arm)) {
        ev.limb = 'arm';
        ev.region ??= 'cervical';
      }
    }
    const qualifiers = [...(ev.qualifiers ?? []), 'examination'];
    if (c.notOnset) qualifiers.push(NOT_ONSET);
    if (cand.byName) qualifiers.push(BY_NAME_QUALIFIER);
    ev.qualifiers = unique(qualifiers);
    evidence.push(ev);
  };
  if (c.findings) {
    const vs = valueSet(ctx, c.findings);
    eachCandidate(ctx, 'Observation', vs, consider('finding', false));
    eachValueCandidate(ctx, vs, consider('finding', true));
  }
  // Grades before tests: a strength test with a 0-5 grade is judged by its grade.
  if (c.grade) eachCandidate(ctx, 'Observation', valueSet(ctx, c.grade.valueSet), consider('grade', false));
  if (c.tests) eachCandidate(ctx, 'Observation', valueSet(ctx, c.tests), consider('test', false));
  if (evidence.length) return { evidence, judged: true, examined: true };
  return { ...(gap ?? noMatchOutcome(c, negatives > 0, `no ${c.name} recorded`)), examined: gap === undefined && negatives > 0 };
}
