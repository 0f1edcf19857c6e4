import { describe, expect, it } from 'vitest';
import type { ServiceRequest } from 'fhir/r4';
import type { Card } from '../../src/cards/types.js';
import type { FindingId } from '../../src/findings/types.js';
import {
  adviseWithDefaults,
  CPT,
  LOINC,
  NOW,
  PATIENT_ID,
  cardFor,
  codesOf,
  daysAgo,
  episode,
  findingsResult,
  lumbarMriDraft,
  suggestedOrders,
  topics,
  type FindingSpec,
} from './support.js';

/**
 * The attributes an EHR acts on (docs/clinical-rules.md, Card topics and Orders): each topic's
 * indicator and topic coding, `isRecommended` on every suggestion, the suggested ServiceRequest's
 * shape, and the physiotherapy referral. No wording is read.
 */

const SCT = 'http://snomed.info/sct';
const PHYSIO = `${SCT}|308447003`;
const SPINE_SURGERY = `${SCT}|308482002`;
const TOPIC_SYSTEM = 'https://fhir.spine-cds.org/CodeSystem/card-topic';

const advise = adviseWithDefaults();

type Scenario = { hook?: 'patient-view' | 'order-select'; given: Partial<Record<FindingId, FindingSpec>>; orders?: ServiceRequest[]; birthDate?: string };
const abscess = { evidence: [{ reference: 'Condition/abs', display: 'Spinal epidural abscess', code: { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G06.1' } }] };

/** One scenario per topic and indicator of the card-topic table. */
const TOPICS: [string, string, Scenario][] = [
  ['cauda-equina', 'critical', { given: { CES: {}, LBP: episode(3) } }],
  ['myelopathy', 'critical', { given: { MYELO: {}, ARM: episode(3) } }],
  ['motor-deficit', 'warning', { given: { MOTOR: { evidence: [{ display: 'foot drop', limb: 'leg', laterality: 'left' }] }, LEG: episode(3) } }],
  ['malignancy-suspected', 'warning', { given: { CA: {}, LBP: episode(3) } }],
  ['infection-suspected', 'warning', { given: { FEVER: {}, LBP: episode(3) } }],
  ['infection-suspected', 'critical', { given: { SPINF: abscess, LBP: episode(3) } }],
  ['elevated-risk', 'info', { given: { HIV: {}, LBP: episode(3) } }],
  ['bilateral-radiculopathy', 'warning', { given: { BILAT: {}, LEG: episode(3) } }],
  ['conservative-care', 'info', { given: { LBP: episode(3) } }],
  ['persistent-radiculopathy', 'info', { given: { LEG: episode(60) } }],
  ['low-value-imaging', 'warning', { hook: 'order-select', given: { LBP: episode(10) }, orders: [lumbarMriDraft('l-1')] }],
  ['insufficient-data', 'info', { hook: 'order-select', given: {}, orders: [lumbarMriDraft('l-2')] }],
  ['child-back-pain', 'info', { given: { LBP: episode(3) }, birthDate: '2016-05-01' }],
];

function run(s: Scenario): Card[] {
  const record = s.birthDate ? { patient: { resourceType: 'Patient' as const, id: PATIENT_ID, birthDate: s.birthDate } } : {};
  return advise(s.hook ?? 'patient-view', findingsResult(s.given), { orders: s.orders ?? [], record });
}

describe('each topic: its indicator and topic coding', () => {
  it.each(TOPICS)('%s → %s', (topic, indicator, scenario) => {
    const card = cardFor(run(scenario), topic);
    expect(card.indicator).toBe(indicator);
    expect(card.source.topic?.system).toBe(TOPIC_SYSTEM);
    expect(card.source.topic?.display).toEqual(expect.any(String));
    expect(card.source.topic?.display).not.toBe('');
  });

  it('cards come most urgent first', () => {
    const cards = advise('patient-view', findingsResult({ HIV: {}, CES: {}, CA: {}, LBP: episode(3) }));
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    const ranks = cards.map((c) => rank[c.indicator]);
    expect(ranks).toEqual([...ranks].sort());
    expect(cards[0]?.source.topic?.code).toBe('cauda-equina');
  });
});

describe('isRecommended', () => {
  /** The red-flag rows recommend every order they suggest. */
  it.each(TOPICS.filter(([topic]) => ['cauda-equina', 'myelopathy', 'motor-deficit', 'malignancy-suspected', 'infection-suspected', 'bilateral-radiculopathy', 'elevated-risk'].includes(topic)))(
    '%s (%s): every suggested order is recommended',
    (topic, _indicator, scenario) => {
      const card = cardFor(run(scenario), topic);
      expect(card.suggestions?.length).toBeGreaterThan(0);
      for (const s of card.suggestions ?? []) expect(s.isRecommended, s.label).toBe(true);
      expect(card.selectionBehavior).toBe('any');
    },
  );

  it('persistent radiculopathy: the MRI and the referral are offered, not recommended', () => {
    const card = cardFor(run({ given: { LEG: episode(60) } }), 'persistent-radiculopathy');
    const orders = suggestedOrders(card);
    expect(orders.map((o) => o.priority)).toEqual(['routine', 'routine']);
    expect(orders.flatMap(codesOf)).toEqual(expect.arrayContaining([`${CPT}|72148`, SPINE_SURGERY]));
    expect(card.suggestions?.map((s) => s.isRecommended)).toEqual([undefined, undefined]);
  });

  it('a withdrawal of a low-value draft is recommended; the physiotherapy referral beside it is not', () => {
    const card = cardFor(run({ hook: 'order-select', given: { LBP: episode(10) }, orders: [lumbarMriDraft('l-9')] }), 'low-value-imaging');
    const withdraw = card.suggestions?.find((s) => s.actions?.some((a) => a.type === 'delete'));
    expect(withdraw?.isRecommended).toBe(true);
    const physio = card.suggestions?.find((s) => s.actions?.some((a) => a.type === 'create'));
    expect(physio?.isRecommended).toBeUndefined();
    expect(codesOf(physio?.actions?.[0]?.resource as ServiceRequest)).toEqual([PHYSIO]);
    expect(card.overrideReasons?.length).toBe(3);
  });

  it('a recommended order merged with an unrecommended one of the same family stays recommended', () => {
    // D4 (recommended, urgent) and D3 (recommended) share the lumbar MRI; priority is the most urgent.
    const cards = advise('patient-view', findingsResult({ CA: {}, MOTOR: { evidence: [{ display: 'foot drop', limb: 'leg', laterality: 'left' }] }, LEG: episode(3) }));
    const mri = cards.flatMap((c) => c.suggestions ?? []).filter((s) => s.actions?.some((a) => a.type === 'create' && codesOf(a.resource as ServiceRequest).some((c) => c.startsWith(`${CPT}|7214`) || c.startsWith(`${CPT}|7215`))));
    expect(mri).toHaveLength(1);
    expect(mri[0]?.isRecommended).toBe(true);
    // The contrast study wins: with and without contrast when any row wants it.
    expect(codesOf(mri[0]?.actions?.[0]?.resource as ServiceRequest)).toContain(`${CPT}|72158`);
  });
});

describe('the suggested ServiceRequest', () => {
  it('is a draft order for the patient, with category, priority, codes, reason and authoredOn', () => {
    const card = cardFor(run({ given: { CES: {}, LBP: episode(3) } }), 'cauda-equina');
    const [mri, referral] = suggestedOrders(card);
    expect(mri).toMatchObject({ resourceType: 'ServiceRequest', status: 'draft', intent: 'order', priority: 'stat', subject: { reference: `Patient/${PATIENT_ID}` }, authoredOn: NOW.toISOString() });
    expect(mri?.category?.[0]?.coding?.[0]).toMatchObject({ system: SCT, code: '363679005' });
    expect(codesOf(mri!)).toEqual([`${CPT}|72148`, `${LOINC}|30679-5`, `${SCT}|241648005`]);
    expect(mri?.code?.coding?.[0]).toEqual({ system: CPT, code: '72148' });
    expect(mri?.code?.coding?.[1]?.display).toEqual(expect.any(String));
    expect(mri?.reasonReference?.map((r) => r.reference)).toEqual(['Condition/ces-1', expect.stringMatching(/^Condition\/ep-/)]);
    expect(referral?.category?.[0]?.coding?.[0]).toMatchObject({ system: SCT, code: '3457005' });
    expect(codesOf(referral!)).toEqual([SPINE_SURGERY]);
  });

  it('labs carry the lab category', () => {
    const card = cardFor(run({ given: { HIV: {}, LBP: episode(3) } }), 'elevated-risk');
    for (const sr of suggestedOrders(card)) expect(sr.category?.[0]?.coding?.[0]?.code).toBe('108252007');
  });

  it('evidence that is not a resource reference is not cited as a reason', () => {
    const cards = advise('patient-view', findingsResult({ CES: { evidence: [{ display: 'from text', reference: 'not a reference' }, { display: 'ok', reference: 'Condition/c-1' }] }, LBP: { evidence: [{ display: 'lbp' }], onset: daysAgo(3) } }));
    expect(suggestedOrders(cardFor(cards, 'cauda-equina'))[0]?.reasonReference).toEqual([{ reference: 'Condition/c-1' }]);
  });
});

describe('the physiotherapy referral', () => {
  it.each([
    ['conservative care (D8)', { given: { LBP: episode(10) } }, 'conservative-care'],
    ['low-value imaging (D10)', { hook: 'order-select', given: { LBP: episode(10) }, orders: [lumbarMriDraft('l-5')] }, 'low-value-imaging'],
  ] as const)('%s suggests a routine physiotherapy referral, not recommended', (_label, scenario, topic) => {
    const card = cardFor(run(scenario as Scenario), topic);
    const physio = suggestedOrders(card).find((o) => codesOf(o).includes(PHYSIO));
    expect(physio?.priority).toBe('routine');
    expect(physio?.category?.[0]?.coding?.[0]?.code).toBe('3457005');
  });

  it.each([
    ['physiotherapy already tried', { evidence: [{ display: 'physio', qualifiers: ['physiotherapy'] }] }, false],
    ['an NSAID tried, no physiotherapy', { evidence: [{ display: 'naproxen', qualifiers: ['nsaid'] }] }, true],
    ['conservative care unknown', { state: 'unknown' as const, evidence: [] }, true],
  ])('%s: physiotherapy suggested = %s', (_label, trial, suggested) => {
    const card = cardFor(advise('patient-view', findingsResult({ LBP: episode(10), TRIAL: trial })), 'conservative-care');
    expect(suggestedOrders(card).some((o) => codesOf(o).includes(PHYSIO))).toBe(suggested);
  });

  it('red-flag cards never suggest physiotherapy', () => {
    const cards = advise('patient-view', findingsResult({ CES: {}, LBP: episode(3) }));
    expect(topics(cards)).toEqual(['cauda-equina']);
    expect(cards.flatMap(suggestedOrders).some((o) => codesOf(o).includes(PHYSIO))).toBe(false);
  });
});
