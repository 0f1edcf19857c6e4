import { z } from 'zod';
import { ENV_BOOLEAN_SPELLINGS, parseEnvBoolean } from '../src/config/env-boolean.js';
import { KnowledgeFileError } from '../src/knowledge/knowledge-file-error.js';

/** Where the rule settings come from, as a KnowledgeFileError names it. */
export const RULE_SETTINGS_SOURCE = 'environment';

const envBoolean = () => z.boolean({ error: `expected a boolean (in the environment: ${ENV_BOOLEAN_SPELLINGS.join(', ')})` });

/**
 * The decision-table choices that the sources disagree on, and the thresholds and windows the rules
 * use (docs/clinical-rules.md, Decision table, "Conflicts resolved"). Each default is the table's resolution.
 * Finding-level windows (fever 7 d, ESR/CRP 30 d, ...) belong to the findings engine, not here.
 */
export const RuleSettingsSchema = z.object({
  /** Conflict (3): ACP 2007 wants fever plus IV drug use / recent infection; S0 and ACR V7 accept fever alone. */
  feverRequiresRiskFactor: envBoolean(),
  /** Conflict (4): Choosing Wisely lists age >50 as a red flag; ACP 2007 and HEDIS do not let age alone block a low-value judgement. */
  ageOver50BlocksLowValue: envBoolean(),
  /** Conflict (2): S0 says "NSAIDs or acetaminophen"; ACP 2017 and NICE NG59 say NSAID first. */
  firstLineAnalgesic: z.enum(['nsaid-first', 'nsaid-or-acetaminophen']),
  /** Conflict (5): ACR V2 rates imaging after 6 weeks without prior management as usually not appropriate. */
  trialNoteWhenNoConservativeCare: envBoolean(),
  /** Episode length below which imaging without red flags is low value (Choosing Wisely, ACR V1/V3). */
  conservativeWindowWeeks: z.number().int().min(1).max(52),
  /** Reassessment interval the conservative-care and elevated-risk cards advise (ACP 2017, S0). */
  reassessWeeks: z.number().int().min(1).max(26),
  /** A suggested order is not offered when an equivalent result or order is this recent (spec section (b)). */
  duplicateLookbackDays: z.number().int().min(0).max(365),
  /** Pain score (LOINC 72514-3, 0-10) counted as severe on the persistent-radiculopathy card (S0). */
  severePainScore: z.number().min(0).max(10),
  /** Spine imaging is not suggested again when a study of the region was done this recently or in the current episode (issue 13). */
  imagingLookbackDays: z.number().int().min(0).max(730),
  /** Below this age the adult low-value and conservative-care rules do not apply (every low-value source is adult-only). */
  adultMinimumAge: z.number().int().min(0).max(25),
});

export type RuleSettings = z.infer<typeof RuleSettingsSchema>;

export const DEFAULT_RULE_SETTINGS: RuleSettings = Object.freeze({
  feverRequiresRiskFactor: false,
  ageOver50BlocksLowValue: false,
  firstLineAnalgesic: 'nsaid-first',
  trialNoteWhenNoConservativeCare: true,
  conservativeWindowWeeks: 6,
  reassessWeeks: 4,
  duplicateLookbackDays: 7,
  severePainScore: 7,
  imagingLookbackDays: 90,
  adultMinimumAge: 18,
});

type SettingKey = keyof RuleSettings;

export interface RuleSettingDoc {
  env: string;
  key: SettingKey;
  default: string;
  meaning: string;
  source: string;
}

/** The decision-rule settings table of docs/configuration.md (npm run docs:settings writes it from these rows): one row per setting. */
export const RULE_SETTINGS_DOC: readonly RuleSettingDoc[] = [
  {
    env: 'RULE_FEVER_REQUIRES_RISK_FACTOR',
    key: 'feverRequiresRiskFactor',
    default: 'false',
    meaning:
      'true: fever triggers the infection card only with IV drug use, immunosuppression or HIV (ACP 2007); fever alone then gives the elevated-risk card. false: fever alone triggers it.',
    source: 'Conflict (3): ACP 2007 vs S0, ACR LBP V7',
  },
  {
    env: 'RULE_AGE_OVER_50_BLOCKS_LOW_VALUE',
    key: 'ageOver50BlocksLowValue',
    default: 'false',
    meaning: 'true: age over 50 alone suppresses the low-value-imaging warning (Choosing Wisely list). false: age alone never does.',
    source: 'Conflict (4): Choosing Wisely vs ACP 2007, HEDIS LBP (18-75)',
  },
  {
    env: 'RULE_FIRST_LINE_ANALGESIC',
    key: 'firstLineAnalgesic',
    default: 'nsaid-first',
    meaning: 'nsaid-first: advise an NSAID first, acetaminophen only if NSAIDs are contraindicated. nsaid-or-acetaminophen: offer either.',
    source: 'Conflict (2): S0 vs ACP 2017, NICE NG59 / QS155',
  },
  {
    env: 'RULE_TRIAL_NOTE_WHEN_NO_CONSERVATIVE_CARE',
    key: 'trialNoteWhenNoConservativeCare',
    default: 'true',
    meaning: 'true: after the conservative window, cards note when no conservative care (NSAID, physiotherapy) is on record.',
    source: 'Conflict (5): ACR LBP V2',
  },
  {
    env: 'RULE_CONSERVATIVE_WINDOW_WEEKS',
    key: 'conservativeWindowWeeks',
    default: '6',
    meaning: 'Episode length (weeks) below which spine imaging without red flags is low value.',
    source: 'Choosing Wisely (NASS), ACR LBP V1/V3',
  },
  {
    env: 'RULE_REASSESS_WEEKS',
    key: 'reassessWeeks',
    default: '4',
    meaning: 'Reassessment interval (weeks) advised on conservative-care and elevated-risk cards.',
    source: 'ACP 2017, S0',
  },
  {
    env: 'RULE_DUPLICATE_LOOKBACK_DAYS',
    key: 'duplicateLookbackDays',
    default: '7',
    meaning: 'An order is not suggested when an equivalent result, order or procedure is this many days old or newer.',
    source: 'docs/clinical-rules.md (Decision table)',
  },
  {
    env: 'RULE_SEVERE_PAIN_SCORE',
    key: 'severePainScore',
    default: '7',
    meaning: 'Pain score (0-10, LOINC 72514-3) counted as severe on the persistent-radiculopathy card.',
    source: 'S0',
  },
  {
    env: 'RULE_IMAGING_LOOKBACK_DAYS',
    key: 'imagingLookbackDays',
    default: '90',
    meaning:
      'Spine MRI, CT or X-ray of a region (DiagnosticReport, ImagingStudy, Procedure) done this many days ago or in the current episode: a routine order of the same modality for that region is not suggested again (review the report or refer; an X-ray does not replace an MRI); urgent and stat rows show the study and still offer the order when the red flag is newer than the study.',
    source: 'ACR LBP V3 (imaging for surgical planning), Choosing Wisely (no repeat imaging without new findings)',
  },
  {
    env: 'RULE_ADULT_MINIMUM_AGE',
    key: 'adultMinimumAge',
    default: '18',
    meaning:
      'Below this age no low-value rating and no adult conservative-care card; one card says the adult rules do not apply and radicular pain in a child warrants specialist assessment. Red-flag rows still fire.',
    source: 'ACR Back Pain—Child; Choosing Wisely, ACR LBP (adult), HEDIS 18–75, CMS166 18–50',
  },
];

function parseEnvValue(key: SettingKey, raw: string): unknown {
  const text = raw.trim();
  const sample = DEFAULT_RULE_SETTINGS[key];
  if (typeof sample === 'boolean') {
    // The same spellings as every other boolean variable (src/config/env-boolean.ts), so untrimmed.
    return parseEnvBoolean(raw) ?? raw; // anything else left for zod to reject, naming the variable
  }
  if (typeof sample === 'number') return text === '' ? Number.NaN : Number(text);
  return text;
}

/**
 * Reads `RULE_*` variables over the defaults. Unset or empty variables keep the default.
 * A bad value throws a KnowledgeFileError (file `environment`, path the variable), so a misconfigured
 * deployment fails at start.
 */
export function ruleSettingsFromEnv(env: Record<string, string | undefined>): RuleSettings {
  const candidate: Record<string, unknown> = { ...DEFAULT_RULE_SETTINGS };
  for (const doc of RULE_SETTINGS_DOC) {
    const raw = env[doc.env];
    if (raw === undefined || raw.trim() === '') continue;
    candidate[doc.key] = parseEnvValue(doc.key, raw);
  }
  const parsed = RuleSettingsSchema.safeParse(candidate);
  if (!parsed.success) {
    const bad = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = RULE_SETTINGS_DOC.find((d) => d.key === key)?.env ?? key;
      return { name, message: `${JSON.stringify(env[name] ?? '')} is not a valid value: ${issue.message}` };
    });
    const [first, ...rest] = bad;
    // The settings are knowledge too (the decision table's resolutions), so they fail like a broken file.
    const reason = [first?.message ?? 'invalid', ...rest.map((b) => `${b.name}: ${b.message}`)].join('; ');
    throw new KnowledgeFileError(RULE_SETTINGS_SOURCE, first?.name ?? 'RULE_*', reason);
  }
  return parsed.data;
}
