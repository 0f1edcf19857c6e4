import { beforeAll, describe, expect, it } from 'vitest';
import type { FhirResource, Observation, Procedure, ServiceRequest } from 'fhir/r4';
import { createAdvisor, type Advisor } from '../../hooks/advise.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import type { Card } from '../../src/cards/types.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import {
  CPT,
  LOINC,
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
  suggestedOrders,
  codesOf,
} from './support.js';

/**
 * Duplicate-order avoidance (docs/clinical-rules.md, Decision table and "Where the sources disagree" 6):
 * an order equivalent to a draft, to a live order from the last 7 days, to a result from the last 7
 * days, or (imaging) to a study of the episode or the last 90 days is not suggested again. Each
 * boundary is pinned just below, at and just above. The cards' wording is not read: only which
 * orders are suggested, with which priority.
 */

const SCT = 'http://snomed.info/sct';
const ESR = `${LOINC}|4537-7`;
const CBC = `${LOINC}|58410-2`;
const CRP = `${LOINC}|1988-5`;
const MRI_LUMBAR_WO = `${CPT}|72148`;
const MRI_LUMBAR_WWO = `${CPT}|72158`;
const MRI_CERVICAL_WWO = `${CPT}|72156`;
const SPINE_SURGERY = `${SCT}|308482002`;
const PHYSIO = `${SCT}|308447003`;
const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

let advisor: Advisor;
beforeAll(async () => {
  advisor = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: DEFAULT_RULE_SETTINGS });
});

function advise(...args: Parameters<typeof ruleInput>): Card[] {
  const response = advisor.advise(ruleInput(...args));
  expect(checkCdsResponse(response)).toEqual([]);
  return response.cards;
}

/** `ms` before NOW (negative: after it), as an ISO instant. */
const before = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function lab(id: string, code: string, effective: string | undefined, extra: Partial<Observation> = {}): Observation {
  const obs: Observation = {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code }] },
    valueQuantity: { value: 40, unit: 'mm/h' },
    ...extra,
  };
  if (effective !== undefined) obs.effectiveDateTime = effective;
  return obs;
}

function request(id: string, system: string, code: string, extra: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${PATIENT_ID}` },
    code: { coding: [{ system, code }] },
    ...extra,
  };
}

function mriProcedure(id: string, code: string, performed: string, status: Procedure['status'] = 'completed'): Procedure {
  return { resourceType: 'Procedure', id, status, subject: { reference: `Patient/${PATIENT_ID}` }, code: { coding: [{ system: CPT, code }] }, performedDateTime: performed };
}

/** D5 (raised ESR with back pain): the card suggests ESR, CBC, CRP and a lumbar MRI with and without contrast. */
const infection = () => findingsResult({ ESR: {}, LBP: episode(5) });
/** D1: stat lumbar MRI and spine-surgery referral. */
const caudaEquina = () => findingsResult({ CES: {}, LBP: episode(3) });

describe('lab results: the 7-day look-back (RULE_DUPLICATE_LOOKBACK_DAYS)', () => {
  it.each([
    ['6 days ago', 6 * DAY_MS, false],
    ['exactly 7 days ago', 7 * DAY_MS, false],
    ['7 days and a minute ago', 7 * DAY_MS + 60_000, true],
    ['8 days ago', 8 * DAY_MS, true],
  ])('an ESR result %s (%i ms old): ESR reordered = %s', (_label, age, reordered) => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-1', '4537-7', before(age))] } });
    expect(allSuggestedCodes(cards).includes(ESR)).toBe(reordered);
    // Only the ESR is covered: the other labs of the row are still suggested.
    expect(allSuggestedCodes(cards)).toEqual(expect.arrayContaining([CBC, CRP]));
  });

  it.each([
    ['23 hours ahead', -23 * HOUR_MS, false],
    ['exactly 24 hours ahead', -24 * HOUR_MS, false],
    ['24 hours and a minute ahead', -24 * HOUR_MS - 60_000, true],
    ['3 days ahead', -3 * DAY_MS, true],
  ])('a result dated %s of the call (%i ms old): ESR reordered = %s (clock-skew tolerance, not a recent result)', (_label, age, reordered) => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-f', '4537-7', before(age))] } });
    expect(allSuggestedCodes(cards).includes(ESR)).toBe(reordered);
  });

  it('a same-day result charted as a date only counts as recent', () => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-d', '4537-7', NOW.toISOString().slice(0, 10))] } });
    expect(allSuggestedCodes(cards)).not.toContain(ESR);
  });

  it.each([
    ['effectiveInstant', { effectiveInstant: daysAgo(2) }],
    ['effectivePeriod.start', { effectivePeriod: { start: daysAgo(2) } }],
    ['issued', { issued: daysAgo(2) }],
  ] as const)('the result date is read from %s', (_label, extra) => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-x', '4537-7', undefined, extra as Partial<Observation>)] } });
    expect(allSuggestedCodes(cards)).not.toContain(ESR);
  });

  it('an undated result covers nothing', () => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-u', '4537-7', undefined)] } });
    expect(allSuggestedCodes(cards)).toContain(ESR);
  });

  it.each([
    ['ESR by another method (30341-2)', '30341-2', ESR],
    ['CBC by another panel (57021-8)', '57021-8', CBC],
    ['CRP (1988-5)', '1988-5', CRP],
    ['high-sensitivity CRP (30522-7)', '30522-7', CRP],
  ])('a recent %s result covers that lab only', (_label, code, covered) => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('r-1', code, daysAgo(2))] } });
    const codes = allSuggestedCodes(cards);
    expect(codes).not.toContain(covered);
    for (const other of [ESR, CBC, CRP].filter((c) => c !== covered)) expect(codes).toContain(other);
  });

  it.each([
    ['an unrelated LOINC code (glucose)', lab('g-1', '2345-7', daysAgo(1))],
    ['the ESR code in another system', { ...lab('e-1', '4537-7', daysAgo(1)), code: { coding: [{ system: 'http://example.org/local', code: '4537-7' }] } } as Observation],
    ['no code at all', { ...lab('n-1', '4537-7', daysAgo(1)), code: { text: 'ESR' } } as Observation],
    ['codings that are not objects', { ...lab('m-1', '4537-7', daysAgo(1)), code: { coding: [null, 'http://loinc.org|4537-7'] } } as unknown as Observation],
  ])('an observation with %s blocks no lab', (_label, obs) => {
    const codes = allSuggestedCodes(advise('patient-view', infection(), { record: { observations: [obs] } }));
    expect(codes).toEqual(expect.arrayContaining([ESR, CBC, CRP]));
  });

  it.each([
    ['final', false],
    ['amended', false],
    ['corrected', false],
    ['preliminary', false],
    ['registered', true],
    ['cancelled', true],
    ['entered-in-error', true],
    ['unknown', true],
  ] as const)('a recent ESR result with status %s: ESR reordered = %s', (status, reordered) => {
    const cards = advise('patient-view', infection(), { record: { observations: [lab('esr-s', '4537-7', daysAgo(1), { status })] } });
    expect(allSuggestedCodes(cards).includes(ESR)).toBe(reordered);
  });

  it('a longer look-back setting covers an older result', async () => {
    const longer = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, duplicateLookbackDays: 14 } });
    const observations = [lab('esr-10', '4537-7', daysAgo(10))];
    expect(allSuggestedCodes(longer.advise(ruleInput('patient-view', infection(), { record: { observations } })).cards)).not.toContain(ESR);
    expect(allSuggestedCodes(advise('patient-view', infection(), { record: { observations } }))).toContain(ESR);
  });
});

describe('orders already placed: ServiceRequest in the 7-day look-back', () => {
  it.each([
    ['active', false],
    ['completed', false],
    ['on-hold', false],
    ['draft', true],
    ['revoked', true],
    ['entered-in-error', true],
  ] as const)('an ESR order %s 2 days ago: ESR reordered = %s', (status, reordered) => {
    const sr = request('sr-esr', LOINC, '4537-7', { status, authoredOn: daysAgo(2) });
    const cards = advise('patient-view', infection(), { record: { serviceRequests: [sr] } });
    expect(allSuggestedCodes(cards).includes(ESR)).toBe(reordered);
  });

  it.each([
    ['6 days ago', 6 * DAY_MS, false],
    ['exactly 7 days ago', 7 * DAY_MS, false],
    ['7 days and a minute ago', 7 * DAY_MS + 60_000, true],
    ['for 23 hours ahead', -23 * HOUR_MS, false],
    ['for 2 days ahead', -2 * DAY_MS, true],
  ])('a CBC order authored %s (%i ms old): CBC reordered = %s', (_label, age, reordered) => {
    const sr = request('sr-cbc', CPT, '85027', { authoredOn: before(age) });
    expect(allSuggestedCodes(advise('patient-view', infection(), { record: { serviceRequests: [sr] } })).includes(CBC)).toBe(reordered);
  });

  it('the order date falls back to occurrenceDateTime', () => {
    const sr = request('sr-crp', LOINC, '1988-5', { occurrenceDateTime: daysAgo(3) });
    expect(allSuggestedCodes(advise('patient-view', infection(), { record: { serviceRequests: [sr] } }))).not.toContain(CRP);
    const undated = request('sr-crp-2', LOINC, '1988-5');
    expect(allSuggestedCodes(advise('patient-view', infection(), { record: { serviceRequests: [undated] } }))).toContain(CRP);
  });

  it('an orthopaedic-surgeon referral covers the spine-surgery referral (equivalent code)', () => {
    const ortho = request('sr-ortho', SCT, '308481009', { authoredOn: daysAgo(1) });
    const cards = advise('patient-view', caudaEquina(), { record: { serviceRequests: [ortho] } });
    expect(allSuggestedCodes(cards)).not.toContain(SPINE_SURGERY);
    expect(allSuggestedCodes(cards)).toContain(MRI_LUMBAR_WO);
    const unrelated = request('sr-derm', SCT, '306170005', { authoredOn: daysAgo(1) });
    expect(allSuggestedCodes(advise('patient-view', caudaEquina(), { record: { serviceRequests: [unrelated] } }))).toContain(SPINE_SURGERY);
  });

  it('a lumbar MRI ordered in the last 7 days covers the red flag MRI; a cervical one does not', () => {
    const lumbar = request('sr-mri', CPT, '72148', { authoredOn: daysAgo(2) });
    expect(allSuggestedCodes(advise('patient-view', caudaEquina(), { record: { serviceRequests: [lumbar] } }))).not.toContain(MRI_LUMBAR_WO);
    const cervical = request('sr-mri-c', CPT, '72141', { authoredOn: daysAgo(2) });
    expect(allSuggestedCodes(advise('patient-view', caudaEquina(), { record: { serviceRequests: [cervical] } }))).toContain(MRI_LUMBAR_WO);
    const xray = request('sr-xr', CPT, '72100', { authoredOn: daysAgo(2) });
    expect(allSuggestedCodes(advise('patient-view', caudaEquina(), { record: { serviceRequests: [xray] } }))).toContain(MRI_LUMBAR_WO);
  });

  it('a neurosurgeon referral placed in the last 7 days covers the spine-surgery referral', () => {
    const neuro = request('sr-neuro', SCT, '308482002', { authoredOn: daysAgo(1) });
    expect(allSuggestedCodes(advise('patient-view', caudaEquina(), { record: { serviceRequests: [neuro] } }))).not.toContain(SPINE_SURGERY);
  });

  it('without a usable clock nothing counts as recent: every order is suggested', () => {
    const findings = { ...infection(), evaluatedAt: 'not a date' };
    const input = ruleInput('patient-view', findings, {
      now: new Date(Number.NaN),
      record: { observations: [lab('esr-n', '4537-7', daysAgo(1))], procedures: [mriProcedure('p-n', '72158', daysAgo(1))] },
    });
    const codes = allSuggestedCodes(advisor.advise(input).cards);
    expect(codes).toEqual(expect.arrayContaining([ESR, CBC, CRP, MRI_LUMBAR_WWO]));
  });

  it('malformed record lists are read as empty', () => {
    const cards = advise('patient-view', infection(), { record: { serviceRequests: 'none' as never, observations: [null, 3, 'x'] as never } });
    const mixed = { ...lab('ok', '4537-7', daysAgo(1)), code: { coding: [null, { system: LOINC, code: '4537-7' }] } } as unknown as Observation;
    expect(allSuggestedCodes(advise('patient-view', infection(), { record: { observations: [mixed] } }))).not.toContain(ESR);
    expect(allSuggestedCodes(cards)).toEqual(expect.arrayContaining([ESR, CBC, CRP, MRI_LUMBAR_WWO]));
  });
});

describe('draft orders in context', () => {
  it('a draft of another region or modality does not hide the MRI a red flag needs', () => {
    for (const draft of [cervicalMriDraft('c-1'), imagingDraft('xr-1', CPT, '72100', 'XR lumbar'), imagingDraft('ct-1', CPT, '72131', 'CT lumbar')]) {
      const cards = advise('order-select', caudaEquina(), { orders: [draft] });
      expect(allSuggestedCodes(cards), draft.id).toContain(MRI_LUMBAR_WO);
    }
  });

  it('a draft lumbar MRI with contrast covers the MRI without (any MRI of the region)', () => {
    const draft = imagingDraft('mri-w', CPT, '72158', 'MRI lumbar W/WO');
    const cards = advise('order-select', caudaEquina(), { orders: [draft] });
    expect(allSuggestedCodes(cards)).not.toContain(MRI_LUMBAR_WO);
    expect(allSuggestedCodes(cards)).toContain(SPINE_SURGERY);
  });

  it('drafts covering every suggestion leave a card with no order to create', () => {
    const drafts: FhirResource[] = [
      lumbarMriDraft('mri-1'),
      request('d-esr', LOINC, '4537-7', { status: 'draft' }),
      request('d-cbc', CPT, '85027', { status: 'draft' }),
      request('d-crp', CPT, '86140', { status: 'draft' }),
    ];
    const cards = advise('order-sign', infection(), { orders: drafts });
    const card = cardFor(cards, 'infection-suspected');
    expect(suggestedOrders(card)).toEqual([]);
    expect(card.suggestions).toBeUndefined();
    expect(card.selectionBehavior).toBeUndefined();
  });

  it('a draft that is not an imaging ServiceRequest but carries an imaging code still counts as the MRI', () => {
    const other = { resourceType: 'DeviceRequest', id: 'dr-1', status: 'draft', intent: 'order', subject: { reference: `Patient/${PATIENT_ID}` }, code: { coding: [{ system: CPT, code: '72148' }] } };
    const cards = advise('order-select', caudaEquina(), { orders: [other as never] });
    expect(allSuggestedCodes(cards)).not.toContain(MRI_LUMBAR_WO);
  });

  it('a draft of a physiotherapy referral covers the physiotherapy suggestion', () => {
    const plain = advise('patient-view', findingsResult({ LBP: episode(10) }));
    expect(allSuggestedCodes(plain)).toContain(PHYSIO);
    const drafted = advise('order-select', findingsResult({ LBP: episode(10) }), { orders: [request('d-pt', SCT, '308447003', { status: 'draft' })] });
    expect(allSuggestedCodes(drafted)).not.toContain(PHYSIO);
  });
});

describe('imaging already done: procedures, reports and studies (RULE_IMAGING_LOOKBACK_DAYS)', () => {
  it.each([
    ['89 days ago', 89, false],
    ['90 days ago', 90, false],
    ['91 days ago', 91, true],
  ])('a lumbar MRI procedure %s (%i days), routine D9 MRI: suggested = %s', (_label, days, suggested) => {
    const cards = advise('patient-view', findingsResult({ LEG: episode(60) }), { record: { procedures: [mriProcedure('p-1', '72148', daysAgo(days))] } });
    expect(allSuggestedCodes(cards).includes(MRI_LUMBAR_WO)).toBe(suggested);
  });

  it('a study older than 90 days but inside the episode still counts', () => {
    const cards = advise('patient-view', findingsResult({ LEG: episode(200) }), { record: { procedures: [mriProcedure('p-2', '72148', daysAgo(150))] } });
    expect(allSuggestedCodes(cards)).not.toContain(MRI_LUMBAR_WO);
    const before = advise('patient-view', findingsResult({ LEG: episode(100) }), { record: { procedures: [mriProcedure('p-3', '72148', daysAgo(150))] } });
    expect(allSuggestedCodes(before)).toContain(MRI_LUMBAR_WO);
  });

  it.each([
    ['completed', false],
    ['in-progress', false],
    ['not-done', true],
    ['entered-in-error', true],
  ] as const)('a recent lumbar MRI procedure with status %s: routine MRI suggested = %s', (status, suggested) => {
    const cards = advise('patient-view', findingsResult({ LEG: episode(60) }), { record: { procedures: [mriProcedure('p-s', '72148', daysAgo(20), status)] } });
    expect(allSuggestedCodes(cards).includes(MRI_LUMBAR_WO)).toBe(suggested);
  });

  it('an X-ray does not replace the MRI; a cervical MRI does not replace a lumbar one', () => {
    for (const code of ['72100', '72141']) {
      const cards = advise('patient-view', findingsResult({ LEG: episode(60) }), { record: { procedures: [mriProcedure('p-x', code, daysAgo(20))] } });
      expect(allSuggestedCodes(cards), code).toContain(MRI_LUMBAR_WO);
    }
  });

  it('a future-dated study (beyond a day) is not a study already done', () => {
    const tomorrowAndMore = new Date(NOW.getTime() + DAY_MS + HOUR_MS).toISOString();
    const cards = advise('patient-view', findingsResult({ LEG: episode(60) }), { record: { procedures: [mriProcedure('p-f', '72148', tomorrowAndMore)] } });
    expect(allSuggestedCodes(cards)).toContain(MRI_LUMBAR_WO);
    const withinADay = new Date(NOW.getTime() + 23 * HOUR_MS).toISOString();
    const same = advise('patient-view', findingsResult({ LEG: episode(60) }), { record: { procedures: [mriProcedure('p-g', '72148', withinADay)] } });
    expect(allSuggestedCodes(same)).not.toContain(MRI_LUMBAR_WO);
  });

  it('a red flag newer than the study still gets its urgent MRI; one older than the study does not', () => {
    const study = mriProcedure('p-rf', '72158', daysAgo(10));
    const newer = findingsResult({ CA: { evidence: [{ reference: 'Condition/ca-1', display: 'cancer', date: daysAgo(5) }] }, LBP: episode(30) });
    const cardsNewer = advise('patient-view', newer, { record: { procedures: [study] } });
    const mri = suggestedOrders(cardFor(cardsNewer, 'malignancy-suspected')).find((o) => codesOf(o).includes(MRI_LUMBAR_WWO));
    expect(mri?.priority).toBe('urgent');
    const older = findingsResult({ CA: { evidence: [{ reference: 'Condition/ca-1', display: 'cancer', date: daysAgo(20) }] }, LBP: episode(30) });
    expect(allSuggestedCodes(advise('patient-view', older, { record: { procedures: [study] } }))).not.toContain(MRI_LUMBAR_WWO);
    // An undated red flag cannot be shown to predate the study: the MRI is offered.
    const undated = findingsResult({ CA: { evidence: [{ reference: 'Condition/ca-1', display: 'cancer' }] }, LBP: episode(undefined) });
    expect(allSuggestedCodes(advise('patient-view', undated, { record: { procedures: [study] } }))).toContain(MRI_LUMBAR_WWO);
  });

  it('a lumbar MRI report (DiagnosticReport) done in the episode is not repeated; a cervical one only covers the neck', () => {
    const report = (id: string, code: string) => ({ resourceType: 'DiagnosticReport', id, status: 'final', code: { coding: [{ system: CPT, code }] }, effectiveDateTime: daysAgo(20) });
    const both = findingsResult({ LEG: episode(60), ARM: episode(60) });
    const lumbarDone = allSuggestedCodes(advise('patient-view', both, { record: { diagnosticReports: [report('r-l', '72148')] as never } }));
    expect(lumbarDone).not.toContain(MRI_LUMBAR_WO);
    expect(lumbarDone).toContain(`${CPT}|72141`);
  });

  it('a cervical MRI study covers a cervical malignancy MRI only when the red flag is older than it', () => {
    const study = mriProcedure('p-c', '72156', daysAgo(10));
    const older = findingsResult({ CA: { evidence: [{ reference: 'Condition/ca-2', display: 'cancer', date: daysAgo(40) }] }, ARM: episode(30) });
    expect(allSuggestedCodes(advise('patient-view', older, { record: { procedures: [study] } }))).not.toContain(MRI_CERVICAL_WWO);
  });
});
