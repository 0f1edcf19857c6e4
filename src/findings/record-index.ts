import type { PatientRecord } from '../record.js';

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

export interface TypeIndex {
  /**
   * code -> one entry per system using that code, with the resources carrying it in their code
   * element. Keyed by code alone: one short string to hash per coding, the system compared after.
   */
  byCode: Map<string, IndexEntry[]>;
  /**
   * Medication types only: the resources whose code element has a coding display or a text, the
   * only ones an ingredient-name fallback can match. Collected in the same pass, so the name pass
   * does not walk every medication of a long chart again.
   */
  named: Json[];
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

/** The element that names what the resource is about: code, or the medication for medication resources. */
export function codeElement(type: IndexedType, resource: Json): unknown {
  if (type !== 'MedicationStatement' && type !== 'MedicationRequest') return resource.code;
  if (isObject(resource.medicationCodeableConcept)) return resource.medicationCodeableConcept;
  // A contained Medication (#id) still names the drug; an external reference cannot be read here.
  const ref = isObject(resource.medicationReference) ? resource.medicationReference.reference : undefined;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    const med = asArray(resource.contained).find((c) => isObject(c) && c.resourceType === 'Medication' && `#${String(c.id)}` === ref);
    if (isObject(med)) return med.code;
  }
  return undefined;
}

const GAP_TYPES: Record<string, string> = {
  patient: 'Patient',
  conditions: 'Condition',
  observations: 'Observation',
  medicationStatements: 'MedicationStatement',
  medicationRequests: 'MedicationRequest',
  serviceRequests: 'ServiceRequest',
  procedures: 'Procedure',
};

export function indexRecord(record: PatientRecord): RecordIndex {
  const types = new Map<IndexedType, TypeIndex>();
  const rec: unknown = record;
  const source = isObject(rec) ? rec : {};
  for (const [type, key] of Object.entries(RECORD_LISTS) as [IndexedType, string][]) {
    const idx: TypeIndex = { byCode: new Map(), named: [] };
    types.set(type, idx);
    const medication = type === 'MedicationStatement' || type === 'MedicationRequest';
    for (const resource of asArray(source[key])) {
      if (!isObject(resource)) continue;
      const concept = codeElement(type, resource);
      if (!isObject(concept)) continue;
      let named = medication && typeof concept.text === 'string' && concept.text.trim() !== '';
      if (!Array.isArray(concept.coding)) {
        if (named) idx.named.push(resource);
        continue;
      }
      for (const c of concept.coding as unknown[]) {
        if (medication && !named && isObject(c) && typeof c.display === 'string' && c.display.trim() !== '') named = true;
        if (!isObject(c) || typeof c.system !== 'string' || typeof c.code !== 'string') continue;
        let entries = idx.byCode.get(c.code);
        if (!entries) idx.byCode.set(c.code, (entries = []));
        let entry = entries[0];
        if (!entry || entry.coding.system !== c.system) {
          entry = entries.find((e) => e.coding.system === c.system);
          if (!entry) {
            const coding: CodingRef = typeof c.display === 'string' ? { system: c.system, code: c.code, display: c.display } : { system: c.system, code: c.code };
            entries.push((entry = { coding, resources: [] }));
          }
        }
        if (entry.resources[entry.resources.length - 1] !== resource) entry.resources.push(resource);
      }
      if (named) idx.named.push(resource);
    }
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
