import { beforeAll, describe, expect, it } from 'vitest';
import type { Condition, FhirResource, MedicationStatement, Observation } from 'fhir/r4';
import { createAdvisor, type Advisor } from '../../hooks/advise.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import type { Card } from '../../src/cards/types.js';
import { recordFromResources } from '../../src/data/record-builder.js';
import { evaluateFindings, loadMappings, type FindingsResult, type MappingSet } from '../../src/findings/index.js';
import { checkCdsResponse } from '../support/cds-response-check.js';
import { CPT, MAPPINGS_DIR, NOW, PATIENT_ID, lumbarMriDraft, ruleInput, topics, allSuggestedCodes, cervicalMriDraft } from './support.js';

/**
 * The thresholds of docs/clinical-rules.md, each pinned just below, at and just above, through the
 * real pipeline: FHIR resources → findings engine (shipped mappings) → decision table → cards. The
 * tests read card topics, indicators and suggested order codes, never wording.
 */

const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
const LOINC = 'http://loinc.org';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const UCUM = 'http://unitsofmeasure.org';
const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const MRI_LUMBAR_WO = `${CPT}|72148`;

let mappings: MappingSet;
let advisor: Advisor;
beforeAll(async () => {
  mappings = await loadMappings(MAPPINGS_DIR);
  advisor = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: DEFAULT_RULE_SETTINGS });
});

const at = (msBeforeNow: number) => new Date(NOW.getTime() - msBeforeNow).toISOString();
const dayOffset = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString().slice(0, 10);
let seq = 0;

function condition(code: string, onset: string | undefined, extra: Partial<Condition> = {}): Condition {
  const c: Condition = {
    resourceType: 'Condition',
    id: `c-${++seq}`,
    subject: { reference: `Patient/${PATIENT_ID}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: ICD, code }] },
    ...extra,
  };
  if (onset) c.onsetDateTime = onset;
  return c;
}

function weight(kg: number, when: string): Observation {
  return {
    resourceType: 'Observation',
    id: `w-${++seq}`,
    status: 'final',
    subject: { reference: `Patient/${PATIENT_ID}` },
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    effectiveDateTime: when,
    valueQuantity: { value: kg, unit: 'kg', system: UCUM, code: 'kg' },
  };
}

function temperature(celsius: number, when: string): Observation {
  return {
    resourceType: 'Observation',
    id: `t-${++seq}`,
    status: 'final',
    subject: { reference: `Patient/${PATIENT_ID}` },
    code: { coding: [{ system: LOINC, code: '8310-5' }] },
    effectiveDateTime: when,
    valueQuantity: { value: celsius, unit: 'Cel', system: UCUM, code: 'Cel' },
  };
}

function prednisone(start: string, end: string): MedicationStatement {
  return {
    resourceType: 'MedicationStatement',
    id: `ms-${++seq}`,
    status: 'completed',
    subject: { reference: `Patient/${PATIENT_ID}` },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: '8640' }] },
    effectivePeriod: { start, end },
  };
}

const patient = (birthDate = '1980-03-01') => ({ resourceType: 'Patient', id: PATIENT_ID, birthDate }) as FhirResource;

function findings(resources: FhirResource[]): FindingsResult {
  return evaluateFindings(mappings, recordFromResources(resources, PATIENT_ID), NOW);
}

/** Resources → findings → cards, for the hook, with the draft orders given. */
function cards(hook: 'patient-view' | 'order-select', resources: FhirResource[], orders: FhirResource[] = []): Card[] {
  const record = recordFromResources(resources, PATIENT_ID);
  const response = advisor.advise(ruleInput(hook, evaluateFindings(mappings, record, NOW), { record, orders }));
  expect(checkCdsResponse(response)).toEqual([]);
  return response.cards;
}

describe('the 6-week episode boundary (RULE_CONSERVATIVE_WINDOW_WEEKS) for D8, D9 and D10', () => {
  const episodeOf = (ms: number) => [patient(), condition('M54.50', at(ms)), condition('M54.16', at(ms))];

  it.each([
    ['41 days', 41 * DAY_MS, 'conservative-care'],
    ['42 days less an hour', 42 * DAY_MS - HOUR_MS, 'conservative-care'],
    ['exactly 42 days', 42 * DAY_MS, 'persistent-radiculopathy'],
    ['43 days', 43 * DAY_MS, 'persistent-radiculopathy'],
  ])('patient-view, back and leg pain for %s (%i ms): %s', (_label, ms, topic) => {
    expect(topics(cards('patient-view', episodeOf(ms)))).toEqual([topic]);
  });

  it('a persistent-radiculopathy card offers a routine lumbar MRI; conservative care offers none', () => {
    expect(allSuggestedCodes(cards('patient-view', episodeOf(42 * DAY_MS)))).toContain(MRI_LUMBAR_WO);
    expect(allSuggestedCodes(cards('patient-view', episodeOf(41 * DAY_MS)))).not.toContain(MRI_LUMBAR_WO);
  });

  it.each([
    ['41 days', 41 * DAY_MS, true],
    ['42 days less an hour', 42 * DAY_MS - HOUR_MS, true],
    ['exactly 42 days', 42 * DAY_MS, false],
    ['43 days', 43 * DAY_MS, false],
  ])('order-select, draft lumbar MRI, back pain for %s (%i ms): low-value card = %s', (_label, ms, lowValue) => {
    const got = topics(cards('order-select', [patient(), condition('M54.50', at(ms))], [lumbarMriDraft('mri-b')]));
    expect(got.includes('low-value-imaging')).toBe(lowValue);
    // Past the window with no conservative care on record: the ACR V2 conservative-care card instead.
    expect(got.includes('conservative-care')).toBe(!lowValue);
  });

  it('back pain alone for 42 days at patient-view: no card (neither D8 nor D9)', () => {
    expect(cards('patient-view', [patient(), condition('M54.50', at(42 * DAY_MS))])).toEqual([]);
    expect(topics(cards('patient-view', [patient(), condition('M54.50', at(41 * DAY_MS))]))).toEqual(['conservative-care']);
  });

  it('the episode starts at the earliest onset of back, leg or arm pain', () => {
    const mixed = [patient(), condition('M54.50', at(10 * DAY_MS)), condition('M54.16', at(50 * DAY_MS))];
    expect(topics(cards('patient-view', mixed))).toEqual(['persistent-radiculopathy']);
  });

  it('a setting of 4 weeks moves the boundary to 28 days', async () => {
    const four = await createAdvisor({ mappingsDir: MAPPINGS_DIR, settings: { ...DEFAULT_RULE_SETTINGS, conservativeWindowWeeks: 4 } });
    const run = (days: number) => {
      const resources = [patient(), condition('M54.50', at(days * DAY_MS)), condition('M54.16', at(days * DAY_MS))];
      const record = recordFromResources(resources, PATIENT_ID);
      return topics(four.advise(ruleInput('patient-view', evaluateFindings(mappings, record, NOW), { record })).cards);
    };
    expect(run(27)).toEqual(['conservative-care']);
    expect(run(28)).toEqual(['persistent-radiculopathy']);
  });
});

describe('weight loss: a drop of 5 % or more against a weight 1–12 months earlier', () => {
  const older = patient('1960-01-01');
  it.each([
    [95.1, 'absent'],
    [95.0, 'present'],
    [94.9, 'present'],
  ])('100 kg two months ago, %d kg now: WTLOSS %s', (now, state) => {
    expect(findings([older, weight(100, at(60 * DAY_MS)), weight(now, at(2 * DAY_MS))]).findings.WTLOSS.state).toBe(state);
  });

  it.each([
    [95.1, ['conservative-care']],
    [95.0, ['malignancy-suspected']],
  ])('over 50 with back pain, %d kg after 100 kg: %j', (now, expected) => {
    const got = topics(cards('patient-view', [older, condition('M54.50', at(10 * DAY_MS)), weight(100, at(60 * DAY_MS)), weight(now, at(2 * DAY_MS))]));
    expect(got).toEqual(expected);
  });

  it.each([
    ['29 days', 29, 'unknown'],
    ['30 days', 30, 'present'],
    ['365 days', 365, 'present'],
    ['366 days', 366, 'unknown'],
  ])('the baseline weight %s before the latest: WTLOSS %s', (_label, gapDays, state) => {
    const latest = 2 * DAY_MS;
    expect(findings([older, weight(100, at(latest + gapDays * DAY_MS)), weight(90, at(latest))]).findings.WTLOSS.state).toBe(state);
  });

  it.each([
    ['182 days ago', 182, 'present'],
    ['184 days ago', 184, 'unknown'],
  ])('the latest weight %s (must be within 183 days): WTLOSS %s', (_label, days, state) => {
    expect(findings([older, weight(100, at((days + 60) * DAY_MS)), weight(90, at(days * DAY_MS))]).findings.WTLOSS.state).toBe(state);
  });

  it('the heaviest baseline in range is the one compared', () => {
    const resources = [older, weight(96, at(100 * DAY_MS)), weight(100, at(60 * DAY_MS)), weight(95, at(2 * DAY_MS))];
    expect(findings(resources).findings.WTLOSS.state).toBe('present');
  });

  it('a weight gain is not a loss', () => {
    expect(findings([older, weight(90, at(60 * DAY_MS)), weight(100, at(2 * DAY_MS))]).findings.WTLOSS.state).toBe('absent');
  });
});

describe('systemic steroids: 90 days or more in the last 12 months is immunosuppression', () => {
  it.each([
    [89, 'absent', ['conservative-care']],
    [90, 'present', ['elevated-risk']],
    [91, 'present', ['elevated-risk']],
  ])('prednisone for %i days: IMMUNO %s, cards %j', (days, state, expected) => {
    const course = prednisone(at(days * DAY_MS + 10 * DAY_MS), at(10 * DAY_MS));
    const resources = [patient(), condition('M54.50', at(5 * DAY_MS)), course];
    expect(findings(resources).findings.IMMUNO.state).toBe(state);
    expect(topics(cards('patient-view', resources))).toEqual(expected);
  });

  it('overlapping courses count once (union of periods)', () => {
    const a = prednisone(at(100 * DAY_MS), at(40 * DAY_MS));
    const b = prednisone(at(80 * DAY_MS), at(20 * DAY_MS));
    expect(findings([patient(), a, b]).findings.IMMUNO.state).toBe('absent'); // 80 days, not 120
    const c = prednisone(at(19 * DAY_MS), at(9 * DAY_MS));
    expect(findings([patient(), a, b, c]).findings.IMMUNO.state).toBe('present'); // 80 + 10
  });

  it('days before the 12-month look-back do not count', () => {
    const straddling = prednisone(at(400 * DAY_MS), at(280 * DAY_MS)); // 120 days, 85 inside the year
    expect(findings([patient(), straddling]).findings.IMMUNO.state).toBe('absent');
  });
});

describe('same-day, date-only data against the 24 h future tolerance', () => {
  // NOW is 12:00 UTC: a date-only "tomorrow" starts 12 h ahead, "the day after" 36 h ahead.
  it.each([
    ['today, date only', dayOffset(0), true],
    ['tomorrow, date only (12 h ahead)', dayOffset(1), true],
    ['the day after tomorrow, date only (36 h ahead)', dayOffset(2), false],
    ['exactly 24 h ahead', at(-24 * HOUR_MS), true],
    ['24 h and a minute ahead', at(-24 * HOUR_MS - 60_000), false],
  ])('a temperature of 38.6 °C dated %s counts: %s', (_label, when, counts) => {
    const resources = [patient(), condition('M54.50', at(5 * DAY_MS)), temperature(38.6, when)];
    expect(findings(resources).findings.FEVER.state === 'present').toBe(counts);
    expect(topics(cards('patient-view', resources)).includes('infection-suspected')).toBe(counts);
  });

  it('back pain that began today (date only) is an episode of 0 weeks: a draft lumbar MRI is low value', () => {
    expect(topics(cards('order-select', [patient(), condition('M54.50', dayOffset(0))], [lumbarMriDraft('mri-t')]))).toEqual(['low-value-imaging']);
  });

  it('an onset after the call (tomorrow, date only) is no onset: the MRI cannot be judged, conservative care is still advised', () => {
    expect(topics(cards('order-select', [patient(), condition('M54.50', dayOffset(1))], [lumbarMriDraft('mri-u')]))).toEqual(['insufficient-data', 'conservative-care']);
  });

  it('a cervical MRI draft with arm pain that began today is never low value', () => {
    expect(topics(cards('order-select', [patient(), condition('M54.12', dayOffset(0))], [cervicalMriDraft('mri-c')]))).toEqual(['conservative-care']);
  });
});
