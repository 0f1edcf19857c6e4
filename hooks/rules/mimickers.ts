import type { Evidence, FindingId } from '../../src/findings/types.js';
import type { FiredFinding } from '../../src/cards/recommendation.js';
import type { CardTopic } from './card-topics.js';
import { parseDateMs, type Facts } from './facts.js';
import type { DecisionRule, OrderNeed, RowOutcome } from './types.js';
import { PHRASES, TOPIC_CONTRACTS, TOPICS, topicFields } from './topics.js';

const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * Rows M1–M8: the non-spinal causes of back and leg pain the seeds name (S4: abdominal aortic
 * aneurysm, severe pain with swelling; S1: myeloma, aneurysms, vascular versus neurogenic
 * claudication, polyneuropathy, coxarthrosis; S3: spinal stenosis). docs/mimickers.md is the table.
 * They are phase-1 rows so that the spinal judgements after them (D8, D9, D10, D13) can see them;
 * none of them silences a spinal red flag: the spinal rows do not read them.
 */

/** Spinal red-flag topics (D1–D5, D7); vascular claudication is only suggested without them. */
export const SPINAL_RED_FLAG_TOPICS: readonly CardTopic[] = ['cauda-equina', 'myelopathy', 'motor-deficit', 'malignancy-suspected', 'infection-suspected', 'bilateral-radiculopathy'];

export const MIMICKER_TOPICS: readonly CardTopic[] = [
  'vascular-emergency', 'possible-aaa', 'dvt-suspected', 'vascular-claudication', 'spinal-stenosis', 'neuropathy-workup', 'hip-pathology',
];

/** Any mimicker card in this call, most urgent first (table order is urgency order). */
export function firedMimickers(fired: ReadonlySet<CardTopic>): CardTopic[] {
  return MIMICKER_TOPICS.filter((t) => fired.has(t));
}

/** An aortic emergency forbids conservative care, elective spine imaging and any low-value rating. */
export function aorticEmergency(fired: ReadonlySet<CardTopic>): boolean {
  return fired.has('vascular-emergency');
}

/**
 * How a spinal card names the absence of red flags when a mimicker may explain the picture: it
 * must not say "no red flags" then, and it points to the other card(s), most urgent first.
 */
export function noRedFlagsPhrase(facts: Facts, fired: ReadonlySet<CardTopic>): { phrase: string; note?: string } {
  const others = firedMimickers(fired);
  if (others.length === 0) return { phrase: PHRASES.phrase('no-red-flags') };
  const names = others.map((t) => `"${facts.knowledge.topicDisplay[t]}"`).join(', ');
  const cards = PHRASES.phrase(others.length > 1 ? 'cards' : 'card', { names });
  return { phrase: PHRASES.phrase('no-spinal-red-flag'), note: PHRASES.phrase('another-cause', { cards }) };
}

function sideOf(e: Evidence): 'left' | 'right' | 'bilateral' | undefined {
  return e.laterality === 'left' || e.laterality === 'right' || e.laterality === 'bilateral' ? e.laterality : undefined;
}

function sides(facts: Facts, ...ids: FindingId[]): Set<string> {
  const out = new Set<string>();
  for (const id of ids) for (const e of facts.finding(id).evidence) if (facts.has(id) && sideOf(e)) out.add(sideOf(e) as string);
  return out;
}

/**
 * "New" back pain: onset inside the conservative window, or onset not recorded (never assume it is
 * old). The episode (LBP, LEG, ARM) dates lumbago with sciatica; flank or trunk pain is not part of
 * the spinal episode, so any current one dated inside the window (or undated) is new pain too.
 */
function newBackPain(facts: Facts): boolean {
  const window = facts.settings.conservativeWindowWeeks;
  if (facts.episode.present && (facts.episode.weeks === undefined || facts.episode.weeks < window)) return true;
  if (!facts.has('FLANK')) return false;
  return facts.finding('FLANK').evidence.some((e) => {
    const ms = parseDateMs(e.date);
    return ms === undefined || !Number.isFinite(facts.nowMs) || (facts.nowMs - ms) / WEEK_MS < window;
  });
}

function severeBackPain(facts: Facts): boolean {
  if (facts.has('SEVBACK')) return true;
  const pain = facts.finding('PAIN');
  return pain.state === 'present' && pain.evidence.some((e) => e.qualifiers?.includes('severe') || (e.value !== undefined && e.value.value >= facts.settings.severePainScore));
}

/** A card whose words take no values from the record: its whole text is the topic file's default. */
function staticText(topic: CardTopic): Pick<RowOutcome, 'summary' | 'guidance' | 'notes'> {
  const t = TOPICS[topic];
  return { summary: t.summary('default'), guidance: t.guidance('default'), ...(TOPIC_CONTRACTS[topic].notes?.includes('default') ? { notes: [t.note('default')] } : {}) };
}

const RISK_SHORT: Record<'ACTIVECA' | 'RECENTSURG' | 'PRIORVTE' | 'ESTROGEN', string> = {
  ACTIVECA: 'active cancer',
  RECENTSURG: 'recent surgery or immobility',
  PRIORVTE: 'previous DVT or PE',
  ESTROGEN: 'oestrogen therapy',
};

const MYELOMA_SHORT: Partial<Record<FindingId, string>> = { ANAEMIA: 'anaemia', HYPERCA: 'high calcium', RENAL: 'raised creatinine', HIPROT: 'raised protein' };

/** Wells score for DVT (NICE NG158) from what the record holds; the items it cannot hold are named. */
export function wellsFromRecord(facts: Facts): { score: number; counted: string[]; unknown: string[] } {
  const counted: string[] = [];
  const unknown: string[] = [];
  const item = (label: string, id: FindingId | undefined, present: boolean): void => {
    if (present) counted.push(label);
    else if (!id || facts.finding(id).state === 'unknown') unknown.push(label);
  };
  item('active cancer', 'ACTIVECA', facts.has('ACTIVECA'));
  item('paralysis, paresis or recent plaster cast of the leg', 'MOTOR', facts.motor.leg);
  item('bedridden 3 days or more, or major surgery within 12 weeks', 'RECENTSURG', facts.has('RECENTSURG'));
  item('previously documented DVT', 'PRIORVTE', facts.has('PRIORVTE'));
  // Examination items the chart rarely codes: named, never assumed absent.
  const swelling = facts.finding('LEGSWELL').evidence.map((e) => e.display.toLowerCase()).join(' ');
  if (/calf/.test(swelling)) counted.push('calf swelling (3 cm or more than the other side, as recorded)');
  else unknown.push('calf swelling 3 cm or more than the other side');
  if (/entire|whole/.test(swelling)) counted.push('entire leg swollen');
  else unknown.push('entire leg swollen');
  unknown.push('localised tenderness along the deep veins', 'pitting oedema of the symptomatic leg', 'collateral superficial veins');
  unknown.push('an alternative diagnosis at least as likely (subtracts 2: a clinician judgement)');
  return { score: counted.length, counted, unknown };
}

/** Several long labels would push the action past 140 characters; the detail names them all. */
function summaryWithin(named: string, counted: string): string {
  // {labs} is filled with the labs the card offers (src/cards/render.ts): at most "ESR and CBC".
  return named.replace('{labs}', 'ESR and CBC').length < 140 ? named : counted;
}

/**
 * Back pain as charted: low back pain, flank or trunk pain, or back pain radiating into a leg
 * ("lumbago with sciatica", M54.4x, is coded as LEG alone). Reading only LBP missed an aneurysm
 * beside sciatica, the very patient this service sees.
 */
function backPain(facts: Facts): boolean {
  return facts.has('LBP') || facts.has('FLANK') || facts.has('LEG');
}

/** The screen comes from seed S1 (myeloma, the most important somatic cause in adults); D4's own sources stay the topic's. */
export const MYELOMA_SOURCES: readonly string[] = ['S1'];

/** Myeloma screen (seed S1): age 50 or over with back pain and anaemia, hypercalcaemia, renal impairment or raised protein. */
export function myelomaScreen(facts: Facts): FiredFinding[] | undefined {
  if (!facts.has('AGE50P') || !backPain(facts)) return undefined;
  const labsFound = (['ANAEMIA', 'HYPERCA', 'RENAL', 'HIPROT'] as const).filter(facts.has);
  if (labsFound.length === 0) return undefined;
  return facts.fired(...labsFound, 'AGE50P');
}

/** The malignancy card when only the myeloma screen fires (no cancer history, no weight loss or night pain). */
export function myelomaOnlyOutcome(facts: Facts, fired: FiredFinding[]): RowOutcome {
  const labels = fired.flatMap((f) => (MYELOMA_SHORT[f.id] ? [MYELOMA_SHORT[f.id]] : []));
  const topic = TOPICS['malignancy-suspected'];
  return {
    summary: summaryWithin(topic.summary('myeloma-named', { findings: labels.join(', ') }), topic.summary('myeloma-counted', { count: labels.length })),
    guidance: topic.guidance('myeloma-only'),
    fired: [...fired, ...facts.fired('LBP', 'FLANK', 'LEG')],
    notes: [topic.note('myeloma-labs-in-words')],
    orders: topic.orders('myeloma-only'),
    extraSources: [...MYELOMA_SOURCES],
  };
}

export const VASCULAR_EMERGENCY: DecisionRule = {
  ...topicFields('vascular-emergency'),
  phase: 1,
  reads: ['AORTA', 'LBP', 'FLANK', 'LEG', 'ARM'],
  evaluate(facts) {
    // Any pain this service is asked about (back, flank, or radiating into a leg or an arm: a thoracic
    // aneurysm or dissection can present as neck, arm or interscapular pain) with a known aneurysm.
    if (!facts.has('AORTA') || !(backPain(facts) || facts.has('ARM'))) return undefined;
    return {
      ...staticText('vascular-emergency'),
      fired: facts.fired('AORTA', 'LBP', 'FLANK', 'LEG', 'ARM'),
    };
  },
};

export const MIMICKER_RULES = {
  'possible-aaa': {
    ...topicFields('possible-aaa'),
    phase: 1,
    reads: ['AGE60', 'VASCRISK', 'PAIN', 'AORTA', 'LBP', 'FLANK', 'LEG'],
    evaluate(facts, firedBefore) {
      if (aorticEmergency(firedBefore) || facts.has('AORTA')) return undefined;
      // Back pain as M1 reads it: lumbago with sciatica (M54.4x, LEG alone) is the same new back pain.
      if (!facts.has('AGE60') || !facts.has('VASCRISK') || !backPain(facts) || !newBackPain(facts) || !severeBackPain(facts)) return undefined;
      return {
        ...staticText('possible-aaa'),
        fired: facts.fired('AGE60', 'VASCRISK', 'SEVBACK', 'PAIN', 'LBP', 'FLANK', 'LEG'),
      };
    },
  },

  'dvt-suspected': {
    ...topicFields('dvt-suspected'),
    phase: 1,
    reads: ['LEGSWELL', 'ACTIVECA', 'RECENTSURG', 'PRIORVTE', 'ESTROGEN', 'DDIMER'],
    evaluate(facts) {
      if (!facts.has('LEGSWELL')) return undefined;
      const pain = facts.has('LIMBPAIN') || facts.has('LEG');
      const painSides = sides(facts, 'LIMBPAIN', 'LEG');
      const swellSides = sides(facts, 'LEGSWELL');
      // Unilateral: the swelling (or the pain) is on one side; both sides or bilateral is oedema, not a DVT pattern.
      const sideSet = swellSides.size > 0 ? swellSides : painSides;
      const unilateral = !sideSet.has('bilateral') && sideSet.size <= 1;
      const risk = (['ACTIVECA', 'RECENTSURG', 'PRIORVTE', 'ESTROGEN'] as const).filter(facts.has);
      if (!pain || !unilateral || risk.length === 0) return undefined;
      const wells = wellsFromRecord(facts);
      const likely = wells.score >= 2;
      const ddimer = facts.finding('DDIMER');
      const topic = TOPICS['dvt-suspected'];
      const guidance = topic.guidance(likely ? 'likely' : 'unlikely', { score: wells.score });
      const notes = [
        topic.note('wells-found', { items: wells.counted.length > 0 ? wells.counted.join('; ') : topic.phrase('no-items') }),
        topic.note('wells-not-found', { items: wells.unknown.join('; ') }),
      ];
      if (ddimer.state === 'present') notes.push(topic.note('d-dimer-raised'));
      else if (ddimer.state === 'unknown') notes.push(topic.note('d-dimer-missing'));
      // Unlikely: the D-dimer decides. Likely: it is the fallback when the scan cannot be done in 4 hours.
      const orders: OrderNeed[] = ddimer.state === 'present' ? [] : [{ key: 'd-dimer', priority: 'urgent', recommended: !likely }];
      return {
        summary: topic.summary(ddimer.state === 'present' ? 'd-dimer-raised' : 'default', { risk: RISK_SHORT[risk[0] ?? 'ACTIVECA'] }),
        guidance,
        fired: facts.fired('LEGSWELL', 'LIMBPAIN', 'LEG', ...risk, 'DDIMER'),
        notes,
        orders,
      };
    },
  },

  'vascular-claudication': {
    ...topicFields('vascular-claudication'),
    phase: 1,
    reads: ['WALKPAIN', 'PAD', 'DIABETES'],
    evaluate(facts, firedBefore) {
      if (aorticEmergency(firedBefore) || SPINAL_RED_FLAG_TOPICS.some((t) => firedBefore.has(t))) return undefined;
      if (!facts.has('WALKPAIN') || !(facts.has('PAD') || facts.has('DIABETES'))) return undefined;
      return {
        ...staticText('vascular-claudication'),
        fired: facts.fired('WALKPAIN', 'PAD', 'DIABETES', 'LEG'),
      };
    },
  },

  'spinal-stenosis': {
    ...topicFields('spinal-stenosis'),
    phase: 1,
    reads: ['LSS', 'AGE50P'],
    evaluate(facts, firedBefore) {
      if (aorticEmergency(firedBefore) || !facts.has('LSS') || !facts.has('AGE50P')) return undefined;
      const weeks = facts.episode.weeks;
      const notes = [];
      if (weeks !== undefined && weeks >= facts.settings.conservativeWindowWeeks) {
        notes.push(TOPICS['spinal-stenosis'].note('long-standing', { weeks }));
      }
      return {
        summary: TOPICS['spinal-stenosis'].summary('default'),
        guidance: TOPICS['spinal-stenosis'].guidance('default', { window: facts.settings.conservativeWindowWeeks }),
        fired: facts.fired('LSS', 'AGE50P', 'LEG', 'LBP'),
        notes,
      };
    },
  },

  'neuropathy-workup': {
    ...topicFields('neuropathy-workup'),
    phase: 1,
    reads: ['NEUROPATHY', 'DIABETES', 'ALCOHOL', 'HBA1C', 'B12'],
    evaluate(facts, firedBefore) {
      if (aorticEmergency(firedBefore)) return undefined;
      const legSymptoms = facts.has('LEG') || facts.has('LIMBPAIN') || facts.has('NEUROPATHY') || facts.has('WALKPAIN');
      const cause = (['DIABETES', 'ALCOHOL'] as const).filter(facts.has);
      if (!facts.has('NEUROPATHY') && !(cause.length > 0 && legSymptoms)) return undefined;
      const notes: string[] = [];
      // A result on record is shown under "why", as charted; only its absence needs a note.
      for (const [id, note] of [['HBA1C', 'no-hba1c'], ['B12', 'no-vitamin-b12']] as const) {
        if (facts.finding(id).state !== 'present') notes.push(TOPICS['neuropathy-workup'].note(note));
      }
      if (facts.has('BILAT')) notes.push(TOPICS['neuropathy-workup'].note('bilateral'));
      return {
        summary: TOPICS['neuropathy-workup'].summary('default'),
        guidance: TOPICS['neuropathy-workup'].guidance('default'),
        fired: facts.fired('NEUROPATHY', ...cause, 'LEG', 'LIMBPAIN', 'HBA1C', 'B12'),
        notes,
        // A result in the last 12 months is shown instead of ordered again.
        orders: [
          ...(facts.has('HBA1C') ? [] : TOPICS['neuropathy-workup'].orders('hba1c')),
          ...(facts.has('B12') ? [] : TOPICS['neuropathy-workup'].orders('vitamin-b12')),
        ],
      };
    },
  },

  'hip-pathology': {
    ...topicFields('hip-pathology'),
    phase: 1,
    reads: ['HIPDX', 'THIGHGROIN', 'MOTOR', 'LEG'],
    evaluate(facts, firedBefore) {
      if (aorticEmergency(firedBefore)) return undefined;
      // Radicular signs (a motor deficit, or radicular pain coded as such) point back to the spine.
      if (!facts.has('HIPDX') || !facts.has('THIGHGROIN') || facts.motor.present || facts.has('LEG')) return undefined;
      return {
        ...staticText('hip-pathology'),
        fired: facts.fired('HIPDX', 'THIGHGROIN', 'LBP'),
      };
    },
  },
} satisfies Partial<Record<CardTopic, DecisionRule>>;

