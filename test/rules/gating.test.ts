import { beforeAll, describe, expect, it } from 'vitest';
import type { Condition, FhirResource } from 'fhir/r4';
import { createAdvisor, type Advisor } from '../../hooks/advise.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import type { Card } from '../../src/cards/types.js';
import type { Evidence, FindingId } from '../../src/findings/types.js';
import { recordFromResources } from '../../src/data/record-builder.js';
import { evaluateFindings, loadMappings, type MappingSet } from '../../src/findings/index.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import {
  CPT,
  MAPPINGS_DIR,
  NOW,
  PATIENT_ID,
  allSuggestedCodes,
  cardFor,
  cervicalMriDraft,
  daysAgo,
  episode,
  findingsResult,
  imagingDraft,
  lumbarMriDraft,
  ruleInput,
  topics,
  type FindingSpec,
} from './support.js';

/**
 * Which card may fire with which (docs/clinical-rules.md, Decision table): the gates between rows.
 * Each case names the topics that must and must not appear; no wording is read.
 */

let advisor: Advisor;
let mappings: MappingSet;
beforeAll(async () => {
  advisor = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: DEFAULT_RULE_SETTINGS });
  mappings = await loadMappings(MAPPINGS_DIR);
});

function advise(...args: Parameters<typeof ruleInput>): Card[] {
  const response = advisor.advise(ruleInput(...args));
  expect(checkCdsResponse(response)).toEqual([]);
  return response.cards;
}

const motor = (...evidence: Evidence[]): FindingSpec => ({ evidence });
const MRI_LUMBAR_WO = `${CPT}|72148`;

describe('elevated risk (D6) is held back when a red-flag card fired', () => {
  const redFlags: [string, Partial<Record<FindingId, FindingSpec>>][] = [
    ['cauda-equina', { CES: {} }],
    ['myelopathy', { MYELO: {} }],
    ['motor-deficit', { MOTOR: motor({ display: 'foot drop', limb: 'leg', laterality: 'left' }) }],
    ['malignancy-suspected', { CA: {} }],
    ['infection-suspected', { FEVER: {} }],
    ['bilateral-radiculopathy', { BILAT: {} }],
  ];
  it.each(redFlags)('IV drug use with a %s card: no elevated-risk card', (topic, given) => {
    const got = topics(advise('patient-view', findingsResult({ IVDU: {}, LBP: episode(5), ...given })));
    expect(got).toContain(topic);
    expect(got).not.toContain('elevated-risk');
  });

  it.each(['WTLOSS', 'IVDU', 'IMMUNO', 'HIV', 'FXRISK', 'SPPROC'] as const)('%s alone with back pain: elevated-risk card, no conservative care', (id) => {
    const got = topics(advise('patient-view', findingsResult({ [id]: {}, LBP: episode(5) })));
    expect(got).toEqual(['elevated-risk']);
  });

  it('a risk factor without a pain episode gives no card', () => {
    expect(advise('patient-view', findingsResult({ IVDU: {} }))).toEqual([]);
  });

  it('fracture risk only: no labs; any other factor: ESR and CBC', () => {
    const fx = advise('patient-view', findingsResult({ FXRISK: {}, LBP: episode(5) }));
    expect(cardFor(fx, 'elevated-risk').suggestions).toBeUndefined();
    const both = allSuggestedCodes(advise('patient-view', findingsResult({ FXRISK: {}, HIV: {}, LBP: episode(5) })));
    expect(both).toEqual(expect.arrayContaining(['http://loinc.org|4537-7', 'http://loinc.org|58410-2']));
  });

  it('prior lumbar surgery alone: routine lumbar MRI with and without contrast, not recommended', () => {
    const surgery = { evidence: [{ reference: 'Procedure/ls-1', display: 'laminectomy', date: daysAgo(400), qualifiers: ['lumbar-surgery'] }] };
    const cards = advise('patient-view', findingsResult({ FXRISK: surgery, LBP: episode(5) }));
    const card = cardFor(cards, 'elevated-risk');
    expect(card.suggestions?.map((s) => s.isRecommended ?? false)).toEqual([false]);
    expect(allSuggestedCodes(cards)).toContain(`${CPT}|72158`);
    // With another factor it is the ordinary elevated-risk card again (labs, no MRI).
    const more = allSuggestedCodes(advise('patient-view', findingsResult({ FXRISK: surgery, HIV: {}, LBP: episode(5) })));
    expect(more).not.toContain(`${CPT}|72158`);
  });

  it('fever held back by RULE_FEVER_REQUIRES_RISK_FACTOR still shows as elevated risk, with labs', async () => {
    const strict = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, feverRequiresRiskFactor: true } });
    const cards = strict.advise(ruleInput('patient-view', findingsResult({ FEVER: {}, LBP: episode(5) }))).cards;
    expect(topics(cards)).toEqual(['elevated-risk']);
    expect(allSuggestedCodes(cards)).toContain('http://loinc.org|4537-7');
  });
});

describe('malignancy (D4) needs a pain episode', () => {
  it.each([
    ['cancer history alone', { CA: {} }, false],
    ['cancer history with back pain', { CA: {}, LBP: episode(5) }, true],
    ['cancer history with leg pain', { CA: {}, LEG: episode(5) }, true],
    ['cancer history with arm pain', { CA: {}, ARM: episode(5) }, true],
    ['over 50 with weight loss, no pain', { AGE50: {}, WTLOSS: {} }, false],
    ['over 50 with night pain and back pain', { AGE50: {}, NIGHT: {}, LBP: episode(5) }, true],
    ['night pain and back pain, not over 50', { NIGHT: {}, LBP: episode(5) }, false],
  ] as const)('%s: malignancy card = %s', (_label, given, fires) => {
    expect(topics(advise('patient-view', findingsResult(given))).includes('malignancy-suspected')).toBe(fires);
  });
});

describe('infection (D5) gates', () => {
  it.each([
    ['fever without a pain episode', { FEVER: {} }, false],
    ['raised CRP with back pain', { CRP: {}, LBP: episode(5) }, true],
    ['a diagnosed spinal infection without pain', { SPINF: {} }, true],
  ] as const)('%s: infection card = %s', (_label, given, fires) => {
    expect(topics(advise('patient-view', findingsResult(given))).includes('infection-suspected')).toBe(fires);
  });

  it('the region of a spinal infection comes from its evidence', () => {
    const cards = advise('patient-view', findingsResult({ SPINF: { evidence: [{ reference: 'Condition/d', display: 'discitis', region: 'cervical' }] }, LBP: episode(5) }));
    expect(allSuggestedCodes(cards)).toContain(`${CPT}|72156`);
    expect(allSuggestedCodes(cards)).not.toContain(`${CPT}|72158`);
  });
});

describe('low-value imaging (D10) is only ever lumbar', () => {
  it('a cervical MRI draft with back and leg pain under 6 weeks is never rated low value', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(10), LEG: episode(10) }), { orders: [cervicalMriDraft('c-9')] });
    expect(topics(cards)).not.toContain('low-value-imaging');
    expect(topics(cards)).toContain('conservative-care');
  });

  it('with a cervical and a lumbar draft, only the lumbar one is offered for withdrawal', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [cervicalMriDraft('c-1'), lumbarMriDraft('l-1')] });
    const deletes = cardFor(cards, 'low-value-imaging').suggestions?.flatMap((s) => s.actions ?? []).filter((a) => a.type === 'delete').map((a) => a.resourceId);
    expect(deletes).toEqual(['ServiceRequest/l-1']);
  });

  it('a lumbar draft without an id is still rated, but there is nothing to withdraw', () => {
    const { id: _id, ...anonymous } = lumbarMriDraft('x');
    const card = cardFor(advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [anonymous as FhirResource] }), 'low-value-imaging');
    expect(card.suggestions?.flatMap((s) => s.actions ?? []).filter((a) => a.type === 'delete')).toEqual([]);
  });

  it('a thoracic MRI draft is not lumbar imaging', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [imagingDraft('t-1', CPT, '72146')] });
    expect(topics(cards)).not.toContain('low-value-imaging');
  });

  it('arm pain only with a lumbar draft: no back or leg pain, so no low-value rating', () => {
    const cards = advise('order-select', findingsResult({ ARM: episode(10) }), { orders: [lumbarMriDraft('l-2')] });
    expect(topics(cards)).not.toContain('low-value-imaging');
  });

  it('a child is never rated low value, and gets the child card instead of conservative care', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [lumbarMriDraft('l-3')], record: { patient: { resourceType: 'Patient', id: PATIENT_ID, birthDate: '2015-01-01' } } });
    expect(topics(cards)).toEqual(['child-back-pain']);
    const adult = advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [lumbarMriDraft('l-3')], record: { patient: { resourceType: 'Patient', id: PATIENT_ID, birthDate: '2008-11-20' } } });
    expect(topics(adult)).toEqual(['low-value-imaging']);
  });

  it('at patient-view a draft never makes a low-value card', () => {
    expect(topics(advise('patient-view', findingsResult({ LBP: episode(10) }), { orders: [lumbarMriDraft('l-4')] }))).toEqual(['conservative-care']);
  });
});

describe('BILAT follows LEG (derived finding)', () => {
  const condition = (code: string, extra: Partial<Condition> = {}): Condition => ({
    resourceType: 'Condition',
    id: `c-${code}-${Object.keys(extra).length}`,
    subject: { reference: `Patient/${PATIENT_ID}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] },
    onsetDateTime: daysAgo(10),
    ...extra,
  });
  const patient = { resourceType: 'Patient', id: PATIENT_ID, birthDate: '1980-01-01' } as FhirResource;
  const stateOf = (resources: FhirResource[], gaps: { key: string; reason: string }[] = []) => {
    const record = { ...recordFromResources(resources, PATIENT_ID), gaps };
    const findings = evaluateFindings(mappings, record, NOW);
    return { LEG: findings.findings.LEG.state, BILAT: findings.findings.BILAT.state };
  };

  it.each([
    ['no leg condition', [patient], { LEG: 'absent', BILAT: 'absent' }],
    ['sciatica on the right only', [patient, condition('M54.31')], { LEG: 'present', BILAT: 'absent' }],
    ['sciatica right and left', [patient, condition('M54.31'), condition('M54.32')], { LEG: 'present', BILAT: 'present' }],
    ['sciatica of unspecified side', [patient, condition('M54.30')], { LEG: 'present', BILAT: 'unknown' }],
  ] as const)('%s → %j', (_label, resources, expected) => {
    expect(stateOf([...resources])).toEqual(expected);
  });

  it('conditions not retrieved: LEG unknown, so BILAT unknown (never absent)', () => {
    const got = stateOf([patient], [{ key: 'conditions', reason: 'FHIR server timed out' }]);
    expect(got.LEG).toBe('unknown');
    expect(got.BILAT).toBe('unknown');
  });

  it('BILAT unknown is not a bilateral card; present is', () => {
    expect(topics(advise('patient-view', findingsResult({ LEG: episode(10), BILAT: { state: 'unknown', evidence: [] } })))).toEqual(['conservative-care']);
    expect(topics(advise('patient-view', findingsResult({ LEG: episode(10), BILAT: {} })))).toEqual(['bilateral-radiculopathy']);
  });
});

describe('weakness of both legs is a cauda equina sign (D1)', () => {
  it.each([
    ['paraparesis', [{ display: 'paraparesis', qualifiers: ['paraparesis'] }]],
    ['left leg and right leg', [{ display: 'weak L leg', limb: 'leg', laterality: 'left' }, { display: 'weak R leg', limb: 'leg', laterality: 'right' }]],
    ['a leg deficit on both sides', [{ display: 'weak legs', limb: 'leg', laterality: 'bilateral' }]],
    ['a bilateral deficit of unstated limb', [{ display: 'bilateral weakness', laterality: 'bilateral' }]],
  ] as const)('%s → cauda-equina (critical), stat lumbar MRI, no separate motor card', (_label, evidence) => {
    const cards = advise('patient-view', findingsResult({ MOTOR: motor(...(evidence as unknown as Evidence[])), LBP: episode(3) }));
    const card = cardFor(cards, 'cauda-equina');
    expect(card.indicator).toBe('critical');
    expect(topics(cards)).not.toContain('motor-deficit');
    expect(allSuggestedCodes(cards)).toContain(MRI_LUMBAR_WO);
  });

  it('bilateral by the finding\'s laterality when no evidence names a limb', () => {
    const cards = advise('patient-view', findingsResult({ MOTOR: { laterality: ['bilateral'], evidence: [{ display: 'weakness' }] }, LBP: episode(3) }));
    expect(topics(cards)).toContain('cauda-equina');
    const arm = advise('patient-view', findingsResult({ MOTOR: { laterality: ['bilateral'], limbs: ['arm'], evidence: [{ display: 'weakness' }] }, ARM: episode(3) }));
    expect(topics(arm)).not.toContain('cauda-equina');
  });

  it.each([
    ['the left leg twice', [{ display: 'a', limb: 'leg', laterality: 'left' }, { display: 'b', limb: 'leg', laterality: 'left' }], 'warning'],
    ['an arm on both sides', [{ display: 'arms', limb: 'arm', laterality: 'bilateral' }], 'warning'],
    ['one arm and one leg', [{ display: 'arm', limb: 'arm', laterality: 'left' }, { display: 'leg', limb: 'leg', laterality: 'left' }], 'critical'],
  ] as const)('%s → motor-deficit (%s), no cauda equina', (_label, evidence, indicator) => {
    const cards = advise('patient-view', findingsResult({ MOTOR: motor(...(evidence as unknown as Evidence[])), LBP: episode(3), ARM: episode(3) }));
    expect(topics(cards)).not.toContain('cauda-equina');
    expect(cardFor(cards, 'motor-deficit').indicator).toBe(indicator);
  });

  it('both legs and an arm: cauda equina and a critical multilevel motor card', () => {
    const evidence = [{ display: 'paraparesis', qualifiers: ['paraparesis'] }, { display: 'arm', limb: 'arm', laterality: 'right' }] as Evidence[];
    const cards = advise('patient-view', findingsResult({ MOTOR: motor(...evidence), LBP: episode(3), ARM: episode(3) }));
    expect(topics(cards)).toEqual(expect.arrayContaining(['cauda-equina', 'motor-deficit']));
    expect(cardFor(cards, 'motor-deficit').indicator).toBe('critical');
    expect(allSuggestedCodes(cards)).toContain(`${CPT}|72141`);
  });

  it('a unilateral motor deficit with no level follows the pain: arm pain → cervical MRI', () => {
    const cards = advise('patient-view', findingsResult({ MOTOR: motor({ display: 'weakness', laterality: 'left' }), ARM: episode(3) }));
    expect(allSuggestedCodes(cards)).toContain(`${CPT}|72141`);
    const noPain = advise('patient-view', findingsResult({ MOTOR: motor({ display: 'weakness', laterality: 'left' }) }));
    expect(allSuggestedCodes(noPain)).toContain(MRI_LUMBAR_WO);
  });

  it('a sphincter sign needs back or leg pain; cauda equina diagnosed needs nothing else', () => {
    expect(topics(advise('patient-view', findingsResult({ SADDLE: {}, ARM: episode(3) })))).not.toContain('cauda-equina');
    expect(topics(advise('patient-view', findingsResult({ SADDLE: {}, LBP: episode(3) })))).toContain('cauda-equina');
    expect(topics(advise('patient-view', findingsResult({ CES: {} })))).toContain('cauda-equina');
  });
});
