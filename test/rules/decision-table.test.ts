import { describe, expect, it } from 'vitest';
import type { Observation } from 'fhir/r4';
import { createAdvisor } from '../../hooks/advise.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import type { Card } from '../../src/cards/types.js';
import {
  adviseWithDefaults,
  CPT,
  LOINC,
  MAPPINGS_DIR,
  PATIENT_ID,
  allSuggestedCodes,
  cardFor,
  cervicalMriDraft,
  codesOf,
  daysAgo,
  episode,
  findingsResult,
  imagingDraft,
  lumbarMriDraft,
  ruleInput,
  suggestedOrders,
  topics,
} from './support.js';

const MRI_LUMBAR_WO = `${CPT}|72148`;
const MRI_LUMBAR_WWO = `${CPT}|72158`;
const MRI_CERVICAL_WO = `${CPT}|72141`;
const MRI_CERVICAL_WWO = `${CPT}|72156`;
const ESR = `${LOINC}|4537-7`;
const CBC = `${LOINC}|58410-2`;
const CRP = `${LOINC}|1988-5`;

const advise = adviseWithDefaults();

function priorityOf(cards: Card[], code: string): string | undefined {
  for (const card of cards) for (const sr of suggestedOrders(card)) if (codesOf(sr).includes(code)) return sr.priority;
  return undefined;
}

describe('decision table rows', () => {
  it('D1: coded cauda equina → critical card, stat lumbar MRI and emergency referral citing the evidence', () => {
    const cards = advise('patient-view', findingsResult({ CES: {}, LBP: episode(3) }));
    const card = cardFor(cards, 'cauda-equina');
    expect(card.indicator).toBe('critical');
    const orders = suggestedOrders(card);
    const mri = orders.find((o) => codesOf(o).includes(MRI_LUMBAR_WO));
    expect(mri?.priority).toBe('stat');
    expect(codesOf(mri!)).toContain(`${LOINC}|30679-5`);
    expect(mri?.subject?.reference).toBe(`Patient/${PATIENT_ID}`);
    expect(mri?.reasonReference?.map((r) => r.reference)).toContain('Condition/ces-1');
    expect(orders.some((o) => codesOf(o).includes('http://snomed.info/sct|308482002'))).toBe(true);
    expect(topics(cards)).not.toContain('conservative-care');
  });

  it('cites the first ten pieces of evidence as the order reasons, however long the chart', () => {
    const evidence = Array.from({ length: 40 }, (_, i) => ({ reference: `Condition/ces-${i + 1}`, display: 'cauda equina', date: daysAgo(3) }));
    const cards = advise('patient-view', findingsResult({ CES: { evidence }, LBP: episode(3) }));
    const mri = suggestedOrders(cardFor(cards, 'cauda-equina')).find((o) => codesOf(o).includes(MRI_LUMBAR_WO));
    expect(mri?.reasonReference?.map((r) => r.reference)).toEqual(evidence.slice(0, 10).map((e) => e.reference));
  });

  it.each(['URET', 'UINC', 'FINC', 'SADDLE'] as const)('D1: back or leg pain with %s → cauda-equina', (sign) => {
    const cards = advise('patient-view', findingsResult({ [sign]: {}, LEG: episode(5) }));
    expect(topics(cards)).toContain('cauda-equina');
  });

  it('D1: a sphincter sign without back or leg pain is not cauda equina by itself', () => {
    expect(topics(advise('patient-view', findingsResult({ UINC: {} })))).not.toContain('cauda-equina');
  });

  it('D1: paraparesis (bilateral motor) → cauda-equina, not motor-deficit', () => {
    const cards = advise('patient-view', findingsResult({ MOTOR: { evidence: [{ display: 'Paraparesis', qualifiers: ['paraparesis'], limb: 'leg', laterality: 'bilateral' }] }, LBP: episode(2) }));
    expect(topics(cards)).toContain('cauda-equina');
    expect(topics(cards)).not.toContain('motor-deficit');
  });

  it('D2: myelopathy → critical card with urgent cervical MRI', () => {
    const cards = advise('patient-view', findingsResult({ MYELO: {} }));
    expect(cardFor(cards, 'myelopathy').indicator).toBe('critical');
    expect(priorityOf(cards, MRI_CERVICAL_WO)).toBe('urgent');
    expect(allSuggestedCodes(cards)).not.toContain(MRI_LUMBAR_WO);
  });

  it('D3: unilateral foot drop → warning, urgent lumbar MRI', () => {
    const cards = advise('patient-view', findingsResult({ MOTOR: { evidence: [{ display: 'Foot drop', limb: 'leg', laterality: 'left', qualifiers: ['foot-drop'] }] }, LEG: episode(10) }));
    const card = cardFor(cards, 'motor-deficit');
    expect(card.indicator).toBe('warning');
    expect(priorityOf(cards, MRI_LUMBAR_WO)).toBe('urgent');
    expect(allSuggestedCodes(cards)).not.toContain(MRI_CERVICAL_WO);
  });

  it('D3: arm and leg motor deficit → critical, cervical and lumbar MRI', () => {
    const cards = advise('patient-view', findingsResult({
      MOTOR: { evidence: [{ display: 'arm weakness', limb: 'arm', laterality: 'left' }, { display: 'foot drop', limb: 'leg', laterality: 'left' }] },
      ARM: episode(5),
      LEG: episode(5),
    }));
    expect(cardFor(cards, 'motor-deficit').indicator).toBe('critical');
    expect(allSuggestedCodes(cards)).toEqual(expect.arrayContaining([MRI_CERVICAL_WO, MRI_LUMBAR_WO]));
  });

  it('D4: cancer history with back pain → urgent MRI with and without contrast, ESR and CBC', () => {
    const cards = advise('patient-view', findingsResult({ CA: {}, LBP: episode(14) }));
    expect(cardFor(cards, 'malignancy-suspected').indicator).toBe('warning');
    expect(allSuggestedCodes(cards)).toEqual(expect.arrayContaining([MRI_LUMBAR_WWO, ESR, CBC]));
    expect(priorityOf(cards, MRI_LUMBAR_WWO)).toBe('urgent');
  });

  it('D4: age over 50 with weight loss → malignancy-suspected; age alone → no red flag', () => {
    expect(topics(advise('patient-view', findingsResult({ AGE50: {}, WTLOSS: {}, LBP: episode(7) })))).toContain('malignancy-suspected');
    const ageOnly = topics(advise('patient-view', findingsResult({ AGE50: {}, LBP: episode(7) })));
    expect(ageOnly).toEqual(['conservative-care']);
  });

  it('D5: fever with back pain → infection-suspected with ESR, CBC, CRP and contrast MRI', () => {
    const cards = advise('patient-view', findingsResult({ FEVER: { evidence: [{ reference: 'Observation/t1', display: 'Body temperature', value: { value: 38.6, unit: 'Cel' }, date: daysAgo(1) }] }, LBP: episode(5) }));
    const card = cardFor(cards, 'infection-suspected');
    expect(card.indicator).toBe('warning');
    expect(allSuggestedCodes(cards)).toEqual(expect.arrayContaining([MRI_LUMBAR_WWO, ESR, CBC, CRP]));
    // The evidence value, unit (as a clinician writes it) and date are on the card.
    expect(card.detail).toContain('38.6 °C');
    expect(card.detail).not.toContain('Cel');
    expect(card.detail).toContain(daysAgo(1).slice(0, 10));
  });

  it('D5: epidural abscess → critical, MRI stat and surgical referral', () => {
    const cards = advise('patient-view', findingsResult({ SPINF: { evidence: [{ reference: 'Condition/abs', display: 'Spinal epidural abscess', code: { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G06.1' } }] } }));
    const card = cardFor(cards, 'infection-suspected');
    expect(card.indicator).toBe('critical');
    expect(priorityOf(cards, MRI_LUMBAR_WWO)).toBe('stat');
  });

  it('D6: IV drug use alone → elevated-risk info card with ESR and CBC; fracture risk alone → no labs', () => {
    const ivdu = advise('patient-view', findingsResult({ IVDU: {}, LBP: episode(7) }));
    expect(cardFor(ivdu, 'elevated-risk').indicator).toBe('info');
    expect(allSuggestedCodes(ivdu)).toEqual(expect.arrayContaining([ESR, CBC]));
    expect(topics(ivdu)).not.toContain('conservative-care');
    const fx = advise('patient-view', findingsResult({ FXRISK: {}, LBP: episode(7) }));
    expect(topics(fx)).toContain('elevated-risk');
    expect(allSuggestedCodes(fx)).not.toContain(ESR);
  });

  it('D6 with every risk factor keeps a summary that says what to do', () => {
    const long = { label: 'A deliberately long risk factor label for the summary' };
    const cards = advise('patient-view', findingsResult({ WTLOSS: long, IVDU: long, IMMUNO: long, HIV: long, FXRISK: long, LBP: episode(7) }));
    expect(cardFor(cards, 'elevated-risk').summary).toMatch(/ESR and CBC; reassess within 4 weeks$/);
  });

  it('D7: bilateral leg symptoms without cauda equina signs → urgent lumbar MRI and safety net', () => {
    const cards = advise('patient-view', findingsResult({ BILAT: {}, LEG: episode(10, { laterality: 'bilateral' }) }));
    const card = cardFor(cards, 'bilateral-radiculopathy');
    expect(card.indicator).toBe('warning');
    expect(priorityOf(cards, MRI_LUMBAR_WO)).toBe('urgent');
    expect(card.detail).toMatch(/bladder or bowel/);
  });

  it('D7 is replaced by D1 when a cauda equina sign is present', () => {
    const cards = advise('patient-view', findingsResult({ BILAT: {}, URET: {}, LEG: episode(3) }));
    expect(topics(cards)).toContain('cauda-equina');
    expect(topics(cards)).not.toContain('bilateral-radiculopathy');
  });

  it('D8: no red flag, under 6 weeks → conservative care, no imaging suggested', () => {
    const cards = advise('patient-view', findingsResult({ LBP: episode(10), LEG: episode(10) }));
    expect(topics(cards)).toEqual(['conservative-care']);
    expect(allSuggestedCodes(cards).some((c) => c.startsWith(CPT))).toBe(false);
    expect(cards[0]!.detail).toMatch(/NSAID first/);
  });

  it('D8 lists the red-flag data that could not be assessed', () => {
    const cards = advise('patient-view', findingsResult({ LBP: episode(10), FEVER: { state: 'unknown', note: 'no temperature in the last 7 days', evidence: [] } }));
    expect(cardFor(cards, 'conservative-care').detail).toMatch(/Red-flag checks not made \(no data on record\): .*fever label/);
  });

  it('D9: leg pain over 6 weeks, no red flags → persistent-radiculopathy with routine MRI, not recommended', () => {
    const cards = advise('patient-view', findingsResult({ LEG: episode(60) }));
    expect(topics(cards)).toEqual(['persistent-radiculopathy']);
    const mri = suggestedOrders(cards[0]!).find((o) => codesOf(o).includes(MRI_LUMBAR_WO));
    expect(mri?.priority).toBe('routine');
    expect(cards[0]!.suggestions?.every((s) => s.isRecommended !== true)).toBe(true);
    // Conflict (5): no conservative care on record → the ACR V2 note.
    expect(cards[0]!.detail).toMatch(/No conservative care/);
  });

  it('D10: draft lumbar MRI, back pain 2 weeks, no red flags → low-value warning that withdraws the draft', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(14) }), { orders: [lumbarMriDraft('mri-9')] });
    expect(topics(cards)).toEqual(['low-value-imaging']);
    const card = cards[0]!;
    expect(card.indicator).toBe('warning');
    const withdraw = card.suggestions?.flatMap((s) => s.actions ?? []).find((a) => a.type === 'delete');
    expect(withdraw?.resourceId).toBe('ServiceRequest/mri-9');
    expect(card.overrideReasons?.map((r) => r.display)).toEqual(
      expect.arrayContaining(['Red flag present but not yet documented', 'Specialist requested imaging', 'Surgical or interventional planning']),
    );
    expect(card.detail).toMatch(/NSAID/);
  });

  it('D10 applies to lumbar XR and CT drafts too, at order-sign', () => {
    const xr = imagingDraft('xr-1', CPT, '72100');
    const ct = imagingDraft('ct-1', LOINC, '30620-9');
    const cards = advise('order-sign', findingsResult({ LEG: episode(7) }), { orders: [xr, ct] });
    const deletes = cardFor(cards, 'low-value-imaging').suggestions?.flatMap((s) => s.actions ?? []).filter((a) => a.type === 'delete').map((a) => a.resourceId);
    expect(deletes).toEqual(['ServiceRequest/xr-1', 'ServiceRequest/ct-1']);
  });

  it('D11: draft lumbar MRI with a red flag or after 6 weeks → no low-value card', () => {
    const red = advise('order-select', findingsResult({ LBP: episode(14), CA: {} }), { orders: [lumbarMriDraft()] });
    expect(topics(red)).not.toContain('low-value-imaging');
    const late = advise('order-select', findingsResult({ LBP: episode(70) }), { orders: [lumbarMriDraft()] });
    expect(topics(late)).not.toContain('low-value-imaging');
  });

  it('D12: draft cervical MRI with arm pain only → not low value, conservative-care card says so', () => {
    const cards = advise('order-select', findingsResult({ ARM: episode(10) }), { orders: [cervicalMriDraft()] });
    expect(topics(cards)).toEqual(['conservative-care']);
    expect(cards[0]!.detail).toMatch(/cervical MRI is not rated low value/);
  });

  it('D13: spine imaging with no back, leg or arm indication → one insufficient-data card, no rating', () => {
    const cards = advise('order-sign', findingsResult({}), { orders: [lumbarMriDraft()] });
    expect(topics(cards)).toEqual(['insufficient-data']);
    expect(cards[0]!.indicator).toBe('info');
    expect(cards[0]!.suggestions).toBeUndefined();
  });

  it('D14: patient-view with no relevant data → no cards', () => {
    expect(advise('patient-view', findingsResult({}))).toEqual([]);
  });
});

describe('regions', () => {
  it('arm only → cervical; arm and leg → cervical and lumbar (malignancy)', () => {
    const arm = advise('patient-view', findingsResult({ CA: {}, ARM: episode(5) }));
    expect(allSuggestedCodes(arm)).toContain(MRI_CERVICAL_WWO);
    expect(allSuggestedCodes(arm)).not.toContain(MRI_LUMBAR_WWO);
    const both = advise('patient-view', findingsResult({ CA: {}, ARM: episode(5), LEG: episode(5) }));
    expect(allSuggestedCodes(both)).toEqual(expect.arrayContaining([MRI_CERVICAL_WWO, MRI_LUMBAR_WWO]));
  });

  it('arm only, no red flags: conservative care without the lumbar 6-week no-imaging rule', () => {
    const card = cardFor(advise('patient-view', findingsResult({ ARM: episode(10) })), 'conservative-care');
    expect(card.summary).not.toMatch(/no imaging/i);
    expect(card.detail).toMatch(/lumbar 6-week imaging rule does not apply/);
    const lumbar = cardFor(advise('patient-view', findingsResult({ LEG: episode(10) })), 'conservative-care');
    expect(lumbar.summary).toMatch(/no imaging now/);
  });

  it('merges MRI across cards: one lumbar MRI, the most urgent priority, on the most urgent card', () => {
    const cards = advise('patient-view', findingsResult({ CES: {}, FEVER: {}, LBP: episode(3) }));
    const lumbarMris = allSuggestedCodes(cards).filter((c) => c === MRI_LUMBAR_WO || c === MRI_LUMBAR_WWO);
    expect(lumbarMris).toHaveLength(1);
    expect(suggestedOrders(cardFor(cards, 'cauda-equina')).some((o) => o.priority === 'stat' && codesOf(o).includes(MRI_LUMBAR_WWO))).toBe(true);
    expect(cardFor(cards, 'infection-suspected').detail).toMatch(/see the/);
    expect(cards[0]!.indicator).toBe('critical');
  });
});

describe('duplicate avoidance', () => {
  it('a draft lumbar MRI covers the MRI a red flag needs, and the card says so (with priority)', () => {
    const cards = advise('order-sign', findingsResult({ CES: {}, LBP: episode(3) }), { orders: [lumbarMriDraft('mri-7', 'routine')] });
    const card = cardFor(cards, 'cauda-equina');
    expect(allSuggestedCodes(cards)).not.toContain(MRI_LUMBAR_WO);
    expect(card.detail).toMatch(/already in the draft orders\./);
    expect(card.detail).not.toContain('ServiceRequest/mri-7');
    expect(card.detail).toMatch(/needs stat/);
  });

  it('an ESR result from 3 days ago is not reordered; one from 10 days ago is', () => {
    const esr = (days: number): Observation => ({
      resourceType: 'Observation',
      id: `esr-${days}`,
      status: 'final',
      code: { coding: [{ system: LOINC, code: '4537-7' }] },
      effectiveDateTime: daysAgo(days),
      valueQuantity: { value: 45, unit: 'mm/h' },
    });
    const findings = findingsResult({ ESR: {}, LBP: episode(5) });
    const recent = advise('patient-view', findings, { record: { observations: [esr(3)] } });
    expect(allSuggestedCodes(recent)).not.toContain(ESR);
    expect(cardFor(recent, 'infection-suspected').detail).toMatch(/result from the last 7 days \(45 mm\/h on /);
    const old = advise('patient-view', findings, { record: { observations: [esr(10)] } });
    expect(allSuggestedCodes(old)).toContain(ESR);
  });

  it('a recent ESR counts only with a result status, under any of its codings, the first recent one in the record named', () => {
    const esr = (id: string, days: number, status: Observation['status'], coding: { system: string; code: string }[], value: number): Observation => ({
      resourceType: 'Observation',
      id,
      status,
      code: { coding },
      effectiveDateTime: daysAgo(days),
      valueQuantity: { value, unit: 'mm/h' },
    });
    const local = { system: 'urn:oid:1.2.3.4', code: 'ESR-W' };
    const loinc = { system: LOINC, code: '4537-7' };
    const otherMethod = { system: LOINC, code: '30341-2' };
    const findings = findingsResult({ ESR: {}, LBP: episode(5) });
    const withdrawn = [esr('a', 1, 'entered-in-error', [loinc], 11), esr('b', 2, 'registered', [loinc], 12), esr('c', 30, 'final', [loinc], 13)];
    expect(allSuggestedCodes(advise('patient-view', findings, { record: { observations: withdrawn } }))).toContain(ESR);
    const observations = [...withdrawn, esr('d', 4, 'amended', [local, otherMethod, otherMethod], 14), esr('e', 2, 'final', [loinc], 15)];
    const cards = advise('patient-view', findings, { record: { observations } });
    expect(allSuggestedCodes(cards)).not.toContain(ESR);
    expect(cardFor(cards, 'infection-suspected').detail).toMatch(/result from the last 7 days \(14 mm\/h on /);
  });
});

describe('edge cases', () => {
  it('unknown onset: no low-value judgement, an insufficient-data card that says why', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(undefined) }), { orders: [lumbarMriDraft()] });
    expect(topics(cards)).not.toContain('low-value-imaging');
    expect(cardFor(cards, 'insufficient-data').summary).toMatch(/onset/);
  });

  it('a LOINC 24531-6 order (US retroperitoneum) is not lumbar imaging', () => {
    const cards = advise('order-select', findingsResult({ LBP: episode(14) }), { orders: [imagingDraft('us-1', LOINC, '24531-6')] });
    expect(topics(cards)).not.toContain('low-value-imaging');
    expect(topics(cards)).not.toContain('insufficient-data');
  });

  it('non-imaging draft orders get no imaging judgement but red flags still show', () => {
    const med = { resourceType: 'MedicationRequest', id: 'm1', status: 'draft', intent: 'order', subject: { reference: `Patient/${PATIENT_ID}` } } as const;
    const quiet = advise('order-select', findingsResult({ LBP: episode(14) }), { orders: [med as never] });
    expect(quiet).toEqual([]);
    const red = advise('order-select', findingsResult({ CES: {}, LBP: episode(14) }), { orders: [med as never] });
    expect(topics(red)).toEqual(['cauda-equina']);
  });

  it('data gaps are named on the card', () => {
    const cards = advise('patient-view', findingsResult({ LBP: episode(5) }), { record: { gaps: [{ key: 'medicationRequests', reason: 'FHIR server timed out' }] } });
    expect(cards[0]!.detail).toMatch(/Not read from the record \(check by hand\): medication orders\./);
  });
});

describe('settings (conflict resolutions)', () => {
  it('RULE_FEVER_REQUIRES_RISK_FACTOR: fever alone → elevated-risk instead of infection; with IVDU → infection', async () => {
    const strict = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, feverRequiresRiskFactor: true } });
    const alone = strict.advise(ruleInput('patient-view', findingsResult({ FEVER: {}, LBP: episode(5) }))).cards;
    expect(topics(alone)).toEqual(['elevated-risk']);
    const withIvdu = strict.advise(ruleInput('patient-view', findingsResult({ FEVER: {}, IVDU: {}, LBP: episode(5) }))).cards;
    expect(topics(withIvdu)).toContain('infection-suspected');
  });

  it('RULE_AGE_OVER_50_BLOCKS_LOW_VALUE and RULE_CONSERVATIVE_WINDOW_WEEKS change the low-value judgement', async () => {
    const findings = findingsResult({ AGE50: {}, LBP: episode(30) });
    const orders = [lumbarMriDraft()];
    expect(topics(advise('order-select', findings, { orders }))).toContain('low-value-imaging');
    const cw = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, ageOver50BlocksLowValue: true } });
    expect(topics(cw.advise(ruleInput('order-select', findings, { orders })).cards)).not.toContain('low-value-imaging');
    const fourWeeks = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, conservativeWindowWeeks: 4 } });
    expect(topics(fourWeeks.advise(ruleInput('order-select', findings, { orders })).cards)).not.toContain('low-value-imaging');
  });
});
