import type { PatientRecord } from '../data/record.js';

/**
 * The record indexed once per evaluation by resource type and by coding (system|code), so each
 * definition visits only the resources whose code could match instead of running FHIRPath over
 * every resource for every finding.
 */

export type Json = Record<string, unknown>;

export const RECORD_LISTS = {
  Condition: 'conditions',
  Observation: 'observations',
  MedicationStatement: 'medicationStatements',
  MedicationRequest: 'medicationRequests',
  ServiceRequest: 'serviceRequests',
  Procedure: 'procedures',
} as const;
export type IndexedType = keyof typeof RECORD_LISTS;

export interface CodingRef {
  system: string;
  code: string;
  display?: string;
}

export interface IndexEntry {
  coding: CodingRef;
  resources: Json[];
}

/**
 * The resources carrying one code in their code element, each with the coding that carries it
 * (parallel arrays). Split by system only when a value set may hold the code: a long chart's codes
 * that no mapping reads are indexed without their system ever being read.
 */
export interface CodeGroup {
  resources: Json[];
  codings: Json[];
  bySystem?: IndexEntry[];
}

export interface TypeIndex {
  byCode: Map<string, CodeGroup>;
}

/** One entry per system using the group's code, in first-seen order; a resource appears once per entry. */
export function entriesOf(group: CodeGroup): IndexEntry[] {
  if (group.bySystem) return group.bySystem;
  const entries: IndexEntry[] = [];
  for (let i = 0; i < group.codings.length; i++) {
    const c = group.codings[i] as Json;
    if (typeof c.system !== 'string') continue;
    const resource = group.resources[i] as Json;
    let entry = entries[0];
    if (!entry || entry.coding.system !== c.system) {
      entry = entries.find((e) => e.coding.system === c.system);
      if (!entry) {
        const code = c.code as string;
        const coding: CodingRef = typeof c.display === 'string' ? { system: c.system, code, display: c.display } : { system: c.system, code };
        entries.push((entry = { coding, resources: [] }));
      }
    }
    if (entry.resources[entry.resources.length - 1] !== resource) entry.resources.push(resource);
  }
  group.bySystem = entries;
  return entries;
}

export interface RecordIndex {
  types: Map<IndexedType, TypeIndex>;
  /** Resource types the EHR could not provide (record.gaps); absence cannot be judged for them. */
  unavailable: Set<string>;
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function readCodings(concept: unknown): CodingRef[] {
  if (!isObject(concept)) return [];
  const out: CodingRef[] = [];
  for (const c of asArray(concept.coding)) {
    if (!isObject(c) || typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    const system = c.system.trim();
    const code = c.code.trim();
    if (!system || !code) continue;
    out.push(typeof c.display === 'string' ? { system, code, display: c.display } : { system, code });
  }
  return out;
}

/** Medication resources name their drug in medication[x], not in code. */
export function isMedicationType(type: IndexedType): type is 'MedicationStatement' | 'MedicationRequest' {
  return type === 'MedicationStatement' || type === 'MedicationRequest';
}

/** The element that names what the resource is about: code, or the medication for medication resources. */
export function codeElement(type: IndexedType, resource: Json): unknown {
  if (!isMedicationType(type)) return resource.code;
  if (isObject(resource.medicationCodeableConcept)) return resource.medicationCodeableConcept;
  // A contained Medication (#id) still names the drug; an external reference cannot be read here.
  const ref = isObject(resource.medicationReference) ? resource.medicationReference.reference : undefined;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    const med = asArray(resource.contained).find((c) => isObject(c) && c.resourceType === 'Medication' && `#${String(c.id)}` === ref);
    if (isObject(med)) return med.code;
  }
  return undefined;
}

/** Marks, in RecordIndex.unavailable, that the exam Observations (a key of their own) were not read. */
export const EXAM_KEY = 'Observation:exam';

const GAP_TYPES: Record<string, string> = {
  patient: 'Patient',
  conditions: 'Condition',
  observations: 'Observation',
  examObservations: EXAM_KEY,
  medicationStatements: 'MedicationStatement',
  medicationRequests: 'MedicationRequest',
  serviceRequests: 'ServiceRequest',
  procedures: 'Procedure',
};

/**
 * Resources per indexing batch, and the batch's scratch space (reused: indexing is synchronous and
 * never nested). See the batching comment in indexRecord.
 */
const BATCH = 256;
const scratchConcept: unknown[] = new Array<unknown>(BATCH).fill(undefined);
const scratchCodings: unknown[] = new Array<unknown>(BATCH).fill(undefined);
const scratchFirst: unknown[] = new Array<unknown>(BATCH).fill(undefined);

export function indexRecord(record: PatientRecord): RecordIndex {
  const types = new Map<IndexedType, TypeIndex>();
  const rec: unknown = record;
  const source = isObject(rec) ? rec : {};
  for (const [type, key] of Object.entries(RECORD_LISTS) as [IndexedType, string][]) {
    const idx: TypeIndex = { byCode: new Map() };
    types.set(type, idx);
    const list = asArray(source[key]);
    for (let from = 0; from < list.length; from += BATCH) {
      const to = Math.min(list.length, from + BATCH);
      // Why in steps: a long record does not fit in CPU cache, and walking resource -> code ->
      // coding -> code one resource at a time takes each cache miss in turn. One step over the whole
      // batch before the next makes the loads of different resources independent, so the CPU
      // overlaps their misses; the last pass then finds everything in cache. This took 20,000
      // resources from 20x to 12x the indexing time of 2,000 (test/bench/README.md).
      for (let i = from; i < to; i++) {
        const resource = list[i];
        scratchConcept[i - from] = isObject(resource) ? codeElement(type, resource) : undefined;
      }
      for (let i = 0; i < to - from; i++) {
        const concept = scratchConcept[i];
        scratchCodings[i] = isObject(concept) ? concept.coding : undefined;
      }
      for (let i = 0; i < to - from; i++) {
        const codings = scratchCodings[i];
        scratchFirst[i] = Array.isArray(codings) ? codings[0] : undefined;
      }
      for (let i = 0; i < to - from; i++) {
        // Loaded only to be in cache for the last pass.
        const first = scratchFirst[i];
        scratchFirst[i] = isObject(first) ? first.code : undefined;
      }
      for (let i = from; i < to; i++) {
        const resource = list[i] as Json;
        const concept = scratchConcept[i - from];
        if (!isObject(concept)) continue;
        const codings = scratchCodings[i - from];
        if (!Array.isArray(codings)) continue;
        for (const c of codings as unknown[]) {
          if (!isObject(c)) continue;
          const code = c.code;
          if (typeof code !== 'string') continue;
          let group = idx.byCode.get(code);
          if (!group) idx.byCode.set(code, (group = { resources: [], codings: [] }));
          group.resources.push(resource);
          group.codings.push(c);
        }
      }
    }
    // The scratch space must not keep a patient's record alive after the call. Only the slots this
    // list used are cleared: clearing all of them cost more than indexing a short record.
    const used = Math.min(list.length, BATCH);
    scratchConcept.fill(undefined, 0, used);
    scratchCodings.fill(undefined, 0, used);
    scratchFirst.fill(undefined, 0, used);
  }
  const unavailable = new Set<string>();
  for (const gap of asArray(source.gaps)) {
    if (isObject(gap) && typeof gap.key === 'string' && GAP_TYPES[gap.key]) unavailable.add(GAP_TYPES[gap.key] as string);
  }
  return { types, unavailable };
}

export function referenceOf(type: string, resource: Json): string | undefined {
  return typeof resource.id === 'string' && resource.id !== '' ? `${type}/${resource.id}` : undefined;
}
