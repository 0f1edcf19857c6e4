import type { FindingId, SpinalRegion } from '../../src/findings/types.js';
import type { CardTopic } from './card-topics.js';
import type { RuleSettings } from '../settings.js';
import type { Facts } from './facts.js';
import type { DecisionRule, OrderNeed, RowOutcome } from './types.js';
import { aorticEmergency, MIMICKER_RULES, MYELOMA_SOURCES, myelomaOnlyOutcome, myelomaScreen, noRedFlagsPhrase, SPINAL_RED_FLAG_TOPICS, VASCULAR_EMERGENCY } from './mimickers.js';
import { recentStudy, studyText } from './orders.js';
import { PHRASES, TOPICS, topicFields } from './topics.js';

/**
 * Decision table (b) of docs/clinical-rules.md, keyed by card topic (section (d)): to find the rule behind
 * a card, look up its `source.topic.code` here and its row, indicator, sources and words in
 * hooks/topics/<code>.yaml. Rows D11, D12 and D14 produce no card of their own;
 * they are the conditions under which D10 is withheld (D11, D12) and no row fires at all (D14).
 */

/** Findings that make up D1–D7. Conservative-care and low-value cards list those that are unknown. */
export const RED_FLAG_FINDINGS: FindingId[] = [
  'CES', 'URET', 'UINC', 'FINC', 'SADDLE', 'MOTOR', 'MYELO', 'BILAT', 'CA', 'AGE50', 'WTLOSS', 'NIGHT',
  'FEVER', 'ESR', 'CRP', 'SPINF', 'IVDU', 'IMMUNO', 'HIV', 'FXRISK', 'SPPROC',
];
/** The spinal red-flag rows and the elevated-risk row: with any of them, no "no red flags" card. */
const RED_FLAG_TOPICS: readonly CardTopic[] = [...SPINAL_RED_FLAG_TOPICS, 'elevated-risk'];

function anyRedFlag(fired: ReadonlySet<CardTopic>): boolean {
  return RED_FLAG_TOPICS.some((t) => fired.has(t));
}

function regionText(regions: readonly SpinalRegion[]): string {
  return regions.length === 0 ? 'lumbar' : regions.join(' and ');
}

/** Where to image when the rule names no region: the radiation's region, else the site of pain (lumbar). */
function painRegions(facts: Facts): SpinalRegion[] {
  return facts.episode.symptomRegions.length > 0 ? facts.episode.symptomRegions : ['lumbar'];
}

/** A topic's orders (hooks/topics/<topic>.yaml), one MRI per region where its key says `{region}`. */
function ordersOf(topic: CardTopic, variant: string, regions: readonly SpinalRegion[] = []): OrderNeed[] {
  return TOPICS[topic].orders(variant, regions).map((o) =>
    // The catalog has no thoracic WO+W study; the WO study is the nearest and is flagged by the radiologist.
    o.key === 'mri-thoracic-wwo' ? { ...o, key: 'mri-thoracic-wo' } : o,
  );
}

/** Conservative-care guidance (hooks/topics/conservative-care.yaml), shared by D8 and D10 (spec: "delete draft + D8"). */
function conservativeGuidance(settings: RuleSettings): string[] {
  return TOPICS['conservative-care'].guidance(settings.firstLineAnalgesic, {
    reassess: settings.reassessWeeks,
    'reassess-until': Math.max(settings.reassessWeeks, settings.conservativeWindowWeeks),
  });
}

function durationNote(facts: Facts): string {
  const ep = facts.episode;
  if (ep.weeks !== undefined) return PHRASES.phrase('duration-known', { onset: ep.onset?.slice(0, 10) ?? 'recorded', weeks: ep.weeks });
  const what = ep.onsetMissing.map((id) => facts.finding(id).label.toLowerCase());
  return PHRASES.phrase('duration-unknown', { what: what.join(', ') || PHRASES.phrase('duration-unknown-what') });
}

function hasSevereP(facts: Facts): boolean {
  const pain = facts.finding('PAIN');
  if (pain.state !== 'present') return false;
  return pain.evidence.some((e) => e.qualifiers?.includes('severe') || (e.value !== undefined && e.value.value >= facts.settings.severePainScore));
}

function trialNote(facts: Facts): string | undefined {
  if (!facts.settings.trialNoteWhenNoConservativeCare) return undefined;
  const trial = facts.finding('TRIAL');
  if (trial.state === 'present') return undefined;
  return PHRASES.phrase(trial.state === 'unknown' ? 'trial-unknown' : 'trial-missing');
}


const lumbarDrafts = (facts: Facts) => facts.reviewedImaging.filter((d) => d.region === 'lumbar');

/** Findings read from the examination: one "neurological examination" item stands for them when it is missing. */
const EXAM_FINDINGS = ['MOTOR', 'SADDLE', 'MYELO', 'CES'] as const;

/**
 * The red-flag checks of a neurological examination, each made when any of its findings was examined
 * (a sign, or a normal result). Saddle sensation and anal tone are one check: either one charted
 * assesses the cauda equina at the bedside. A post-void residual is not listed: it is measured when
 * retention is suspected, not in every examination, and retention itself is a red flag of its own.
 */
const EXAM_CHECKS: readonly { phrase: string; findings: readonly FindingId[] }[] = [
  { phrase: 'exam-check-saddle', findings: ['SADDLE', 'CES'] },
  { phrase: 'exam-check-leg-power', findings: ['MOTOR'] },
  { phrase: 'exam-check-reflexes', findings: ['MYELO'] },
];

/**
 * Exam checks not made although an examination is on record: a finding is absent from the exam only
 * when it was examined. A check whose findings carry no `examined` mark (an older findings engine) is
 * not named: nothing says it was missed.
 */
function unexaminedChecks(facts: Facts): string[] {
  return EXAM_CHECKS.filter((check) => {
    const findings = check.findings.map((id) => facts.finding(id));
    if (findings.some((f) => f.state === 'present' || f.examined === undefined)) return false;
    return findings.every((f) => f.examined === false);
  }).map((check) => PHRASES.phrase(check.phrase));
}

/**
 * Red-flag checks that could not be made, in one line, for the cards that say "no red flags": an
 * unknown is not an absent (issue 13). Only checks that bear on the judgement are named: night pain
 * and weight loss only when age over 50 is present or unknown (D4 needs both); ESR and CRP are
 * results of tests the red flags would order, not checks a clinician is expected to have made. A
 * part of the record that was not read shows here through the findings it left unknown.
 */
export function uncheckedRedFlags(facts: Facts): { count: number; line: string } | undefined {
  const parts: string[] = [];
  const skip = new Set<FindingId>(['ESR', 'CRP']);
  if (!facts.examRecorded && !EXAM_FINDINGS.some(facts.has)) {
    parts.push(PHRASES.phrase('neurological-examination'));
    for (const id of EXAM_FINDINGS) skip.add(id);
  } else {
    parts.push(...unexaminedChecks(facts));
  }
  if (facts.finding('AGE50').state === 'absent') {
    skip.add('NIGHT');
    skip.add('WTLOSS');
  }
  for (const id of RED_FLAG_FINDINGS) {
    if (skip.has(id) || facts.finding(id).state !== 'unknown') continue;
    parts.push(facts.finding(id).label.toLowerCase());
  }
  if (parts.length === 0) return undefined;
  return { count: parts.length, line: PHRASES.phrase('unchecked-red-flags', { checks: parts.join('; ') }) };
}

/**
 * D6 when the only factor is prior lumbar surgery: ACR LBP V5 rates MRI with and without contrast
 * usually appropriate for new or progressing symptoms after lumbar surgery, so the card says that
 * rather than "X-ray first", and imaging is never rated low value.
 */
function priorLumbarSurgeryOnly(facts: Facts, factors: readonly FindingId[]): RowOutcome | undefined {
  if (factors.length !== 1 || factors[0] !== 'FXRISK' || (facts.settings.feverRequiresRiskFactor && facts.has('FEVER'))) return undefined;
  const ev = facts.finding('FXRISK').evidence;
  if (ev.length === 0 || !ev.every((e) => e.qualifiers?.includes('lumbar-surgery'))) return undefined;
  return {
    summary: TOPICS['elevated-risk'].summary('prior-lumbar-surgery'),
    guidance: TOPICS['elevated-risk'].guidance('prior-lumbar-surgery'),
    fired: facts.fired('FXRISK', 'LBP', 'LEG', 'ARM'),
    orders: ordersOf('elevated-risk', 'prior-lumbar-surgery'),
  };
}

export const RULES: Readonly<Record<CardTopic, DecisionRule>> = {
  // First, so that it sorts first among critical cards (hooks/rules/mimickers.ts).
  'vascular-emergency': VASCULAR_EMERGENCY,
  'cauda-equina': {
    ...topicFields('cauda-equina'),
    phase: 1,
    reads: ['CES', 'URET', 'UINC', 'FINC', 'SADDLE', 'MOTOR', 'LBP', 'LEG'],
    evaluate(facts) {
      const backOrLeg = facts.has('LBP') || facts.has('LEG');
      const sphincterOrSaddle = (['URET', 'UINC', 'FINC', 'SADDLE'] as const).filter(facts.has);
      const fires = facts.has('CES') || (backOrLeg && sphincterOrSaddle.length > 0) || facts.motor.bilateralLegs;
      if (!fires) return undefined;
      const ids: FindingId[] = ['CES', ...sphincterOrSaddle, 'LBP', 'LEG'];
      if (facts.motor.bilateralLegs) ids.push('MOTOR');
      return {
        summary: TOPICS['cauda-equina'].summary('default'),
        guidance: TOPICS['cauda-equina'].guidance('default'),
        fired: facts.fired(...ids),
        orders: ordersOf('cauda-equina', 'default'),
      };
    },
  },

  myelopathy: {
    ...topicFields('myelopathy'),
    phase: 1,
    reads: ['MYELO'],
    evaluate(facts) {
      if (!facts.has('MYELO')) return undefined;
      return {
        summary: TOPICS.myelopathy.summary('default'),
        guidance: TOPICS.myelopathy.guidance('default'),
        fired: facts.fired('MYELO', 'ARM', 'LEG'),
        orders: ordersOf('myelopathy', 'default'),
      };
    },
  },

  'motor-deficit': {
    ...topicFields('motor-deficit'),
    phase: 1,
    reads: ['MOTOR'],
    evaluate(facts) {
      const motor = facts.motor;
      // Both legs alone is a cauda equina sign (D1); an arm on top of it is still a multilevel deficit.
      if (!motor.present || (motor.bilateralLegs && !motor.arm)) return undefined;
      const levelUnclear = motor.regions.length === 0;
      const regions = levelUnclear ? painRegions(facts) : motor.regions;
      const multilevel = motor.arm && motor.leg;
      const topic = TOPICS['motor-deficit'];
      const values = { regions: regionText(regions) };
      const notes = levelUnclear ? [topic.note('level-unclear', values)] : [];
      const outcome: RowOutcome = {
        summary: topic.summary(multilevel ? 'arm-and-leg' : 'one-limb', values),
        guidance: topic.guidance('default', values),
        fired: facts.fired('MOTOR', 'LBP', 'LEG', 'ARM'),
        notes,
        orders: ordersOf('motor-deficit', 'default', regions),
      };
      if (regions.includes('cervical')) outcome.extraSources = ['ACR-CERVICAL'];
      if (multilevel) outcome.indicator = 'critical';
      return outcome;
    },
  },

  'malignancy-suspected': {
    ...topicFields('malignancy-suspected'),
    phase: 1,
    reads: ['CA', 'AGE50', 'WTLOSS', 'NIGHT'],
    evaluate(facts) {
      if (!facts.episode.present) return undefined;
      const cancer = facts.has('CA');
      const olderWithSign = facts.has('AGE50') && (facts.has('WTLOSS') || facts.has('NIGHT'));
      const myeloma = myelomaScreen(facts);
      if (!cancer && !olderWithSign) return myeloma ? myelomaOnlyOutcome(facts, myeloma) : undefined;
      const regions = painRegions(facts);
      const outcome: RowOutcome = {
        summary: TOPICS['malignancy-suspected'].summary('default', { regions: regionText(regions) }),
        guidance: TOPICS['malignancy-suspected'].guidance('default', { regions: regionText(regions) }),
        fired: facts.fired('CA', 'AGE50', 'WTLOSS', 'NIGHT', 'LBP', 'LEG', 'ARM'),
        orders: ordersOf('malignancy-suspected', 'default', regions),
      };
      if (myeloma) {
        outcome.guidance.push(...TOPICS['malignancy-suspected'].guidance('myeloma-addition'));
        outcome.fired.push(...myeloma.filter((f) => !outcome.fired.some((g) => g.id === f.id)));
        outcome.extraSources = [...(outcome.extraSources ?? []), ...MYELOMA_SOURCES];
      }
      return outcome;
    },
  },

  'infection-suspected': {
    ...topicFields('infection-suspected'),
    phase: 1,
    reads: ['FEVER', 'ESR', 'CRP', 'SPINF', 'IVDU', 'IMMUNO', 'HIV', 'SPPROC'],
    evaluate(facts) {
      const riskFactor = facts.has('IVDU') || facts.has('IMMUNO') || facts.has('HIV') || facts.has('SPPROC');
      // Conflict (3): ACP 2007 wants fever plus a risk factor; S0 and ACR V7 accept fever alone (default).
      const feverCounts = facts.has('FEVER') && (!facts.settings.feverRequiresRiskFactor || riskFactor);
      const labsRaised = facts.has('ESR') || facts.has('CRP');
      const spinf = facts.has('SPINF');
      if (!spinf && !(facts.episode.present && (feverCounts || labsRaised))) return undefined;
      const spinfRegions = facts.finding('SPINF').evidence.flatMap((e) => (e.region ? [e.region] : []));
      const regions = spinfRegions.length > 0 ? [...new Set(spinfRegions)] : painRegions(facts);
      const fired = facts.fired('SPINF', ...(feverCounts ? (['FEVER'] as const) : []), 'ESR', 'CRP', 'IVDU', 'IMMUNO', 'HIV', 'SPPROC', 'LBP', 'LEG', 'ARM');
      const extraSources = facts.settings.feverRequiresRiskFactor ? ['ACP07'] : [];
      if (facts.epiduralAbscess) {
        return {
          indicator: 'critical',
          summary: TOPICS['infection-suspected'].summary('epidural-abscess', { regions: regionText(regions) }),
          guidance: TOPICS['infection-suspected'].guidance('epidural-abscess', { regions: regionText(regions) }),
          fired,
          orders: ordersOf('infection-suspected', 'epidural-abscess', regions),
          extraSources,
        };
      }
      return {
        summary: TOPICS['infection-suspected'].summary('default', { regions: regionText(regions) }),
        guidance: TOPICS['infection-suspected'].guidance('default', { regions: regionText(regions) }),
        fired,
        orders: ordersOf('infection-suspected', 'default', regions),
        extraSources,
      };
    },
  },

  'bilateral-radiculopathy': {
    ...topicFields('bilateral-radiculopathy'),
    phase: 1,
    reads: ['BILAT', 'URET', 'UINC', 'FINC', 'SADDLE'],
    evaluate(facts, firedBefore) {
      // "without D1 signs": D1 is evaluated earlier in the same phase.
      if (!facts.has('BILAT') || firedBefore.has('cauda-equina')) return undefined;
      return {
        summary: TOPICS['bilateral-radiculopathy'].summary('default'),
        guidance: TOPICS['bilateral-radiculopathy'].guidance('default'),
        fired: facts.fired('BILAT', 'LEG', 'LBP'),
        orders: ordersOf('bilateral-radiculopathy', 'default'),
      };
    },
  },

  'elevated-risk': {
    ...topicFields('elevated-risk'),
    phase: 2,
    reads: ['WTLOSS', 'IVDU', 'IMMUNO', 'HIV', 'FXRISK', 'SPPROC'],
    evaluate(facts, firedBefore) {
      if (!facts.episode.present || anyRedFlag(firedBefore)) return undefined;
      const factors = (['WTLOSS', 'IVDU', 'IMMUNO', 'HIV', 'FXRISK', 'SPPROC'] as const).filter(facts.has);
      const surgery = priorLumbarSurgeryOnly(facts, factors);
      if (surgery) return surgery;
      // Fever held back from D5 by RULE_FEVER_REQUIRES_RISK_FACTOR is still shown, never dropped.
      const heldFever = facts.settings.feverRequiresRiskFactor && facts.has('FEVER');
      if (factors.length === 0 && !heldFever) return undefined;
      const fxOnly = factors.length === 1 && factors[0] === 'FXRISK' && !heldFever;
      const labels = [...factors.map((id) => facts.finding(id).label), ...(heldFever ? ['fever'] : [])];
      const topic = TOPICS['elevated-risk'];
      const values = { reassess: facts.settings.reassessWeeks, factors: labels.join(', '), count: labels.length };
      const guidance = [
        ...topic.guidance('default'),
        ...(fxOnly ? [] : topic.guidance('labs')),
        // A possible aortic emergency rules out any conservative trial (mimickers.ts).
        ...(aorticEmergency(firedBefore) ? [] : topic.guidance('conservative-trial', values)),
        ...(factors.includes('SPPROC') ? topic.guidance('recent-spinal-procedure') : []),
      ];
      const notes = heldFever ? [topic.note('fever-held-back')] : [];
      // {labs}: the labs this card offers (src/cards/render.ts); ESR and CBC unless already on record.
      const named = topic.summary('named', values);
      return {
        summary: fxOnly
          ? topic.summary('fracture-risk-only', values)
          : // Several long labels would push the action past 140 characters; the detail names them all.
            named.replace('{labs}', 'ESR and CBC').length < 140 ? named : topic.summary('counted', values),
        guidance,
        fired: facts.fired(...factors, ...(heldFever ? (['FEVER'] as const) : []), 'LBP', 'LEG', 'ARM'),
        notes,
        orders: fxOnly ? [] : ordersOf('elevated-risk', 'labs'),
      };
    },
  },

  'persistent-radiculopathy': {
    ...topicFields('persistent-radiculopathy'),
    phase: 3,
    reads: [...RED_FLAG_FINDINGS, 'PAIN', 'TRIAL'],
    evaluate(facts, firedBefore) {
      const ep = facts.episode;
      if (facts.child || anyRedFlag(firedBefore) || aorticEmergency(firedBefore) || ep.weeks === undefined || ep.weeks < facts.settings.conservativeWindowWeeks) return undefined;
      if (!facts.has('LEG') && !facts.has('ARM')) return undefined;
      const regions = ep.symptomRegions;
      const notes = [durationNote(facts)];
      const flags = noRedFlagsPhrase(facts, firedBefore);
      if (flags.note) notes.push(flags.note);
      const unchecked = uncheckedRedFlags(facts);
      if (unchecked) notes.push(unchecked.line);
      const topic = TOPICS['persistent-radiculopathy'];
      if (hasSevereP(facts)) notes.push(topic.note('severe-pain', { 'severe-score': facts.settings.severePainScore }));
      const trial = trialNote(facts);
      if (trial) notes.push(trial);
      // An MRI of every region already done in this episode (or recently) leads the card: review it, do not repeat it.
      const done = regions.map((r) => recentStudy(facts, r, 'MR'));
      const allDone = done.length > 0 && done.every((p) => p !== undefined);
      const variant = allDone ? 'mri-done' : 'mri-advised';
      const values = {
        window: facts.settings.conservativeWindowWeeks,
        'red-flags': unchecked ? `${flags.phrase} ${topic.phrase('not-all-checked')}` : flags.phrase,
        regions: regionText(regions),
        dates: done.map((p) => p?.date.slice(0, 10)).join(', '),
        studies: done.map((p) => (p ? studyText(p) : '')).join('; '),
      };
      const outcome: RowOutcome = {
        summary: topic.summary(variant, values),
        guidance: topic.guidance(variant, values),
        fired: facts.fired('LEG', 'ARM', 'LBP', 'PAIN', 'TRIAL'),
        notes,
        orders: ordersOf('persistent-radiculopathy', 'default', regions),
      };
      if (regions.includes('cervical')) outcome.extraSources = ['ACR-CERVICAL'];
      return outcome;
    },
  },

  'low-value-imaging': {
    ...topicFields('low-value-imaging'),
    phase: 3,
    reads: [...RED_FLAG_FINDINGS, 'LBP', 'LEG'],
    evaluate(facts, firedBefore) {
      const drafts = lumbarDrafts(facts);
      const ep = facts.episode;
      // Every low-value source is adult-only (Choosing Wisely, ACR LBP, HEDIS 18–75, CMS166 18–50).
      if (facts.child || !facts.orderContext || drafts.length === 0 || anyRedFlag(firedBefore) || aorticEmergency(firedBefore)) return undefined;
      if (!facts.has('LBP') && !facts.has('LEG')) return undefined;
      // D11: at or beyond the window imaging may be appropriate; unknown onset is D13, never a guess.
      if (ep.weeks === undefined || ep.weeks >= facts.settings.conservativeWindowWeeks) return undefined;
      // Conflict (4): age alone never blocks the judgement unless the deployment chooses the CW list.
      if (facts.settings.ageOver50BlocksLowValue && facts.has('AGE50')) return undefined;
      const notes = [durationNote(facts)];
      const flags = noRedFlagsPhrase(facts, firedBefore);
      if (flags.note) notes.push(flags.note);
      const unchecked = uncheckedRedFlags(facts);
      if (unchecked) notes.push(unchecked.line);
      const topic = TOPICS['low-value-imaging'];
      if (facts.has('AGE50')) notes.push(topic.note('age-over-50'));
      const withdrawable = drafts.filter((d) => d.resourceId !== undefined);
      for (const d of drafts) if (!d.resourceId) notes.push(topic.note('draft-without-id', { draft: d.display }));
      const modality = drafts[0]?.modality;
      const values = {
        'red-flags': flags.phrase,
        checked: topic.phrase(unchecked ? 'not-all-checked' : 'checked'),
        window: facts.settings.conservativeWindowWeeks,
        imaging: drafts.length === 1 && modality ? PHRASES.modality(modality) : topic.phrase('several-drafts'),
      };
      return {
        summary: topic.summary('default', values),
        guidance: [...topic.guidance('default', values), ...conservativeGuidance(facts.settings)],
        fired: facts.fired('LBP', 'LEG', 'AGE50'),
        notes,
        withdraw: withdrawable,
        orders: physiotherapyUnlessTried(facts),
        overrideReasons: [...topic.overrideReasons],
      };
    },
  },

  'insufficient-data': {
    ...topicFields('insufficient-data'),
    phase: 3,
    reads: ['LBP', 'LEG', 'ARM'],
    evaluate(facts, firedBefore) {
      if (facts.child || !facts.orderContext || facts.reviewedImaging.length === 0 || anyRedFlag(firedBefore) || aorticEmergency(firedBefore)) return undefined;
      const ep = facts.episode;
      if (!ep.present) {
        return {
          summary: TOPICS['insufficient-data'].summary('no-indication'),
          guidance: TOPICS['insufficient-data'].guidance('no-indication'),
          fired: [],
          notes: [TOPICS['insufficient-data'].note('no-indication')],
        };
      }
      // Unknown onset with lumbar imaging: the low-value judgement (D10) would be a guess.
      const lumbar = lumbarDrafts(facts);
      if (ep.weeks === undefined && lumbar.length > 0 && (facts.has('LBP') || facts.has('LEG'))) {
        return {
          summary: TOPICS['insufficient-data'].summary('onset-unknown'),
          guidance: TOPICS['insufficient-data'].guidance('onset-unknown', { window: facts.settings.conservativeWindowWeeks }),
          fired: facts.fired('LBP', 'LEG', 'ARM'),
          notes: [durationNote(facts), TOPICS['insufficient-data'].note('guessed-duration')],
        };
      }
      return undefined;
    },
  },

  'child-back-pain': {
    ...topicFields('child-back-pain'),
    phase: 3,
    reads: ['LBP', 'LEG', 'ARM'],
    evaluate(facts) {
      if (!facts.child || (!facts.episode.present && facts.reviewedImaging.length === 0)) return undefined;
      const radicular = facts.has('LEG') || facts.has('ARM');
      const values = { age: facts.ageYears ?? TOPICS['child-back-pain'].phrase('age-unknown'), 'adult-age': facts.settings.adultMinimumAge };
      const variant = radicular ? 'radicular' : 'default';
      return {
        summary: TOPICS['child-back-pain'].summary(variant, values),
        guidance: TOPICS['child-back-pain'].guidance(variant, values),
        fired: facts.fired('LBP', 'LEG', 'ARM'),
      };
    },
  },

  'conservative-care': {
    ...topicFields('conservative-care'),
    phase: 4,
    reads: RED_FLAG_FINDINGS,
    evaluate(facts, firedBefore) {
      const ep = facts.episode;
      // D10 already carries this guidance next to its withdrawal suggestion: one card, not two.
      if (facts.child || !ep.present || anyRedFlag(firedBefore) || aorticEmergency(firedBefore) || firedBefore.has('low-value-imaging')) return undefined;
      const window = facts.settings.conservativeWindowWeeks;
      const early = ep.weeks === undefined || ep.weeks < window;
      // Conflict (5): past the window, draft lumbar imaging with no conservative care on record gets the ACR V2 note.
      const trial = trialNote(facts);
      const lateWithoutTrial =
        !early && facts.orderContext && lumbarDrafts(facts).length > 0 && trial !== undefined && !firedBefore.has('persistent-radiculopathy');
      if (!early && !lateWithoutTrial) return undefined;
      const notes = [durationNote(facts)];
      const flags = noRedFlagsPhrase(facts, firedBefore);
      if (flags.note) notes.push(flags.note);
      const unchecked = uncheckedRedFlags(facts);
      if (unchecked) notes.push(unchecked.line);
      const topic = TOPICS['conservative-care'];
      if (ep.weeks === undefined) notes.push(topic.note('duration-assumed', { window }));
      if (lateWithoutTrial && trial) notes.push(trial);
      const extraSources: string[] = [];
      const cervicalDraft = facts.reviewedImaging.some((d) => d.region === 'cervical' && d.modality === 'MR');
      if (cervicalDraft && facts.has('ARM') && !facts.has('LEG')) {
        // D12: cervical radiculopathy MRI is not low value (ACR cervical); never apply the lumbar 6-week rule.
        notes.push(topic.note('cervical-draft'));
        extraSources.push('ACR-CERVICAL');
      }
      if (lateWithoutTrial) extraSources.push('ACR-LBP');
      // The lumbar 6-week imaging rule is never applied to cervical radiculopathy (ACR cervical).
      const armOnly = facts.has('ARM') && !facts.has('LBP') && !facts.has('LEG');
      if (armOnly && !extraSources.includes('ACR-CERVICAL')) {
        notes.push(topic.note('arm-only'));
        extraSources.push('ACR-CERVICAL');
      }
      const values = {
        // Capitalised: it opens the summary ("No red flags", "No spinal red flag").
        'red-flags': flags.phrase.charAt(0).toUpperCase() + flags.phrase.slice(1),
        checked: unchecked ? topic.phrase('not-all-checked', { count: unchecked.count }) : topic.phrase('checked'),
        analgesic: topic.phrase(facts.settings.firstLineAnalgesic === 'nsaid-first' ? 'analgesic-nsaid-first' : 'analgesic-any'),
        reassess: facts.settings.reassessWeeks,
        window,
      };
      return {
        summary: topic.summary(lateWithoutTrial ? 'no-trial' : armOnly ? 'arm-only' : 'default', values),
        guidance: [...conservativeGuidance(facts.settings), ...(early && !armOnly ? topic.guidance('no-early-imaging', { window }) : [])],
        fired: facts.fired('LBP', 'LEG', 'ARM', 'PAIN', 'TRIAL'),
        notes,
        orders: physiotherapyUnlessTried(facts),
        extraSources,
      };
    },
  },
  ...MIMICKER_RULES,
};

function physiotherapyUnlessTried(facts: Facts): OrderNeed[] {
  const trial = facts.finding('TRIAL');
  const hadPhysio = trial.state === 'present' && trial.evidence.some((e) => e.qualifiers?.includes('physiotherapy'));
  return hadPhysio ? [] : ordersOf('conservative-care', 'physiotherapy');
}

/** The rows in evaluation order: by phase, then table order. */
export const RULES_IN_ORDER: readonly DecisionRule[] = Object.values(RULES).sort((a, b) => a.phase - b.phase);
