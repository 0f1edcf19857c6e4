import type { Evidence, Quantity } from '../findings/types.js';

/**
 * Clinician-facing wording shared by every card: results as charted, the record's parts in plain
 * words, and the guard that keeps machine references (resource ids) out of the text a clinician reads.
 */

/** UCUM codes as a clinician writes them. Codes not listed are shown as they are (mg/L, mm/h, kg). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  Cel: '°C',
  '[degF]': '°F',
  '{score}': '/10',
  '[lb_av]': 'lb',
  '[oz_av]': 'oz',
  a: 'years',
  'umol/L': 'µmol/L',
  ug: 'µg',
  'ug/L': 'µg/L',
  'ug/dL': 'µg/dL',
  '10*9/L': '×10⁹/L',
};

export function unitWords(unit: string): string {
  return UNIT_WORDS[unit] ?? unit;
}

/**
 * A converted value to the precision a clinician reads: one decimal, two significant digits below 1
 * (38.777777778 -> 38.8; 0.0456 -> 0.046). Charted values are never rounded: they are shown as entered.
 */
export function roundForDisplay(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const rounded = abs !== 0 && abs < 1 ? Number(value.toPrecision(2)) : Math.round(value * 10) / 10;
  return String(rounded);
}

function quantityText(value: string, unit: string): string {
  const words = unitWords(unit);
  // "8/10", not "8 /10"
  return words.startsWith('/') ? `${value}${words}` : `${value} ${words}`.trim();
}

/**
 * A result as it was charted, with the normalised value beside it when the unit differs:
 * "101.8 °F (38.8 °C)", "4.2 mg/dL (42 mg/L)", "62 mm/h". One result, one way of writing it.
 */
export function formatResult(value: Quantity, charted?: { value: number; unit: string }): string {
  const normal = quantityText(roundForDisplay(value.value), value.unit);
  if (!charted || !Number.isFinite(charted.value)) return normal;
  const sameNumber = Math.abs(charted.value - value.value) < 1e-9;
  // A unit charted in a spelling ("C", "mm/hr") that means the normalised unit: one value, the standard spelling.
  if (sameNumber) return quantityText(String(charted.value), value.unit);
  return `${quantityText(String(charted.value), charted.unit)} (${normal})`;
}

/** The charted form of an evidence value, if it has one: for notes that mention the same result. */
export function evidenceResult(e: Pick<Evidence, 'value' | 'charted'>): string | undefined {
  return e.value && Number.isFinite(e.value.value) ? formatResult(e.value, e.charted) : undefined;
}

/** The parts of the record (prefetch keys) in a clinician's words. */
export const RECORD_PARTS: Readonly<Record<string, string>> = {
  patient: 'patient demographics',
  conditions: 'problems and diagnoses',
  observations: 'vital signs and lab results',
  examObservations: 'examination findings',
  medicationRequests: 'medication orders',
  medicationStatements: 'medication list',
  serviceRequests: 'orders and referrals',
  procedures: 'procedures',
  diagnosticReports: 'imaging reports',
  imagingStudies: 'imaging studies',
  draftOrders: 'draft orders',
  codings: 'coded entries',
  text: 'free-text entries',
};

export function recordPart(key: string): string {
  return RECORD_PARTS[key] ?? 'part of the record';
}

/**
 * FHIR relative references (`Observation/abc-obs-4`, `ServiceRequest/draft-1`). They are for machines
 * (suggested orders cite them in reasonReference; the card's extension keeps them), not for the
 * clinician, who cannot look a resource id up.
 */
const TYPES = 'Observation|Condition|ServiceRequest|Procedure|DiagnosticReport|ImagingStudy|MedicationRequest|MedicationStatement|Patient|Encounter|AllergyIntolerance';
const ID = '[A-Za-z0-9][A-Za-z0-9.-]{0,63}';
export const RESOURCE_ID = new RegExp(`\\b(?:${TYPES})/${ID}`);
const RESOURCE_ID_IN_PARENS = new RegExp(`\\s*\\(\\s*(?:${TYPES})/${ID}\\s*\\)`, 'g');
const RESOURCE_ID_LEADING = new RegExp(`([(,]\\s*)(?:${TYPES})/${ID}(?::\\s*|,\\s*)`, 'g');
const RESOURCE_ID_ANY = new RegExp(`\\s*\\b(?:${TYPES})/${ID}`, 'g');

/**
 * Text from another stage (duplicate-order notes) with its resource ids taken out:
 * "already in the draft orders (ServiceRequest/x)." -> "already in the draft orders.";
 * "(Observation/y: 4.2 mg/dL on 2026-12-01)" -> "(4.2 mg/dL on 2026-12-01)".
 */
export function withoutResourceIds(text: string): string {
  if (!RESOURCE_ID.test(text)) return text;
  return text
    .replace(RESOURCE_ID_IN_PARENS, '')
    .replace(RESOURCE_ID_LEADING, '$1')
    .replace(RESOURCE_ID_ANY, '')
    .replace(/\(\s*\)/g, '')
    .replace(/\s+([.,;:)])/g, '$1');
}

/** "A", "A and B", "A, B and C". */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
