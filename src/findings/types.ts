/**
 * The contract between the findings engine (mappings/ + src/findings) and the decision rules
 * (hooks/rules). Ids are those of docs/clinical-rules.md, Findings.
 */
export const FINDING_IDS = [
  'LBP', 'LEG', 'ARM', 'BILAT', 'CES', 'URET', 'UINC', 'FINC', 'SADDLE', 'MOTOR', 'MYELO',
  'CA', 'AGE50', 'WTLOSS', 'NIGHT', 'FEVER', 'ESR', 'CRP', 'IVDU', 'IMMUNO', 'HIV', 'SPINF',
  'FXRISK', 'PAIN', 'TRIAL',
  // Mimickers (docs/mimickers.md)
  'AORTA', 'FLANK', 'AGE60', 'AGE50P', 'VASCRISK', 'SEVBACK', 'LEGSWELL', 'LIMBPAIN', 'ACTIVECA', 'RECENTSURG',
  'PRIORVTE', 'ESTROGEN', 'DDIMER', 'WALKPAIN', 'PAD', 'DIABETES', 'LSS', 'ANAEMIA', 'HYPERCA', 'RENAL', 'HIPROT',
  'HBA1C', 'B12', 'NEUROPATHY', 'ALCOHOL', 'HIPDX', 'THIGHGROIN',
  // issue 13: a recent spinal procedure, an infection risk factor
  'SPPROC',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

/** present: the data shows it; absent: the data needed was there and does not show it; unknown: the data needed was not there. */
export type FindingState = 'present' | 'absent' | 'unknown';

export type Laterality = 'left' | 'right' | 'bilateral' | 'unspecified';
export type Limb = 'arm' | 'leg';
export type SpinalRegion = 'cervical' | 'thoracic' | 'lumbar';

export interface Quantity {
  value: number;
  /** UCUM code, already normalised (Cel, mg/L, kg, mm/h, {score}). */
  unit: string;
}

export interface Evidence {
  /** `Condition/abc`, when the evidence is a resource (suggested orders cite it in reasonReference). */
  reference?: string;
  /** Human-readable: the coding display or the code text. */
  display: string;
  /** The matching coding, system|code. */
  code?: { system: string; code: string; display?: string };
  /** Normalised value, for observations. */
  value?: Quantity;
  /**
   * The value as charted, before normalisation, with the unit as the chart spelled it ("°F", "mg/dL"):
   * cards show this first, so a clinician recognises the result, with the normalised value beside it.
   */
  charted?: { value: number; unit: string };
  /** The date used for windows (onset/recordedDate, effective/issued), ISO 8601, if any. */
  date?: string;
  laterality?: Laterality;
  limb?: Limb;
  region?: SpinalRegion;
  /**
   * Finer meaning the rules need, e.g. `epidural-abscess` (SPINF), `paraparesis` (MOTOR bilateral),
   * `foot-drop`, `osteoporosis` / `trauma` / `lumbar-surgery` (FXRISK), `weight-drop` (WTLOSS from weights),
   * `steroid-days:120` (IMMUNO), `severe` (PAIN >= 7), `nsaid` / `physiotherapy` (TRIAL).
   */
  qualifiers?: string[];
}

export interface Finding {
  id: FindingId;
  label: string;
  /** Seeds (S0–S4) and guidelines the definition names. */
  sources: string[];
  state: FindingState;
  /** Non-empty when present. */
  evidence: Evidence[];
  /** Union of evidence laterality (BILAT derives from LEG left+right). */
  laterality?: Laterality[];
  limbs?: Limb[];
  regions?: SpinalRegion[];
  /** Earliest onset among the evidence (episode start for LBP/LEG/ARM), ISO date. */
  onset?: string;
  /** Why the state is unknown, or what was skipped; shown on cards. */
  note?: string;
  /**
   * Findings with examination criteria only: whether a usable examination of it was read (a sign, or
   * a normal result). False when none was, or only ones not assessed, not final or out of the window:
   * then an absent state says "not charted", not "examined and normal".
   */
  examined?: boolean;
}

export interface DataQualityNote {
  /** `Observation/123` when a resource was skipped. */
  reference?: string;
  findingId?: FindingId;
  message: string;
}

export interface FindingsResult {
  /** The "now" every window was computed against, ISO 8601. */
  evaluatedAt: string;
  findings: Record<FindingId, Finding>;
  dataQuality: DataQualityNote[];
  /** Findings whose evaluation threw (state unknown): the answer must say so, never fall silent. */
  failed?: Array<{ findingId: FindingId; label: string; message: string }>;
}
