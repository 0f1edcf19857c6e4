import { describe, expect, it } from 'vitest';
import type { Patient } from 'fhir/r4';
import { DEFAULT_RULE_SETTINGS, ruleSettingsFromEnv } from '../../hooks/settings.js';
import { PATIENT_ID, adviseWithDefaults, cardFor, episode, findingsResult, lumbarMriDraft, topics } from './support.js';
import type { ruleInput } from './support.js';

/**
 * RULE_ADULT_MINIMUM_AGE (issue 13, children): the adult low-value and conservative-care rules apply
 * from that age, whatever it is set to; below it the child card comes instead. NOW is 2026-11-20.
 */
const patientBorn = (birthDate: string): { patient: Patient } => ({ patient: { resourceType: 'Patient', id: PATIENT_ID, birthDate } });
const backPainWithMriDraft = (birthDate: string): Parameters<typeof ruleInput> => ['order-select', findingsResult({ LBP: episode(10) }), { orders: [lumbarMriDraft('l-1')], record: patientBorn(birthDate) }];

const SEVENTEEN = '2009-06-01';
const NINETEEN = '2007-06-01';
const TWENTY_ONE_TODAY = '2005-11-20';

describe('with the default minimum age (18)', () => {
  const advise = adviseWithDefaults();
  it('a 17-year-old gets the child card, a 19-year-old the adult low-value rating', () => {
    expect(topics(advise(...backPainWithMriDraft(SEVENTEEN)))).toEqual(['child-back-pain']);
    expect(topics(advise(...backPainWithMriDraft(NINETEEN)))).toEqual(['low-value-imaging']);
  });
});

describe('RULE_ADULT_MINIMUM_AGE=16', () => {
  const advise = adviseWithDefaults(ruleSettingsFromEnv({ RULE_ADULT_MINIMUM_AGE: '16' }));
  it('reads the setting from the environment', () => {
    expect(ruleSettingsFromEnv({ RULE_ADULT_MINIMUM_AGE: '16' }).adultMinimumAge).toBe(16);
  });
  it('a 17-year-old is an adult: the low-value rating applies', () => {
    expect(topics(advise(...backPainWithMriDraft(SEVENTEEN)))).toEqual(['low-value-imaging']);
  });
});

describe('RULE_ADULT_MINIMUM_AGE=21', () => {
  const advise = adviseWithDefaults({ ...DEFAULT_RULE_SETTINGS, adultMinimumAge: 21 });
  it('a 19-year-old gets the child card, which names the configured age, and no low-value rating', () => {
    const cards = advise(...backPainWithMriDraft(NINETEEN));
    expect(topics(cards)).toEqual(['child-back-pain']);
    const child = cardFor(cards, 'child-back-pain');
    expect(`${child.summary} ${child.detail ?? ''}`).toContain('21');
  });
  it('on the 21st birthday the adult rules apply', () => {
    expect(topics(advise(...backPainWithMriDraft(TWENTY_ONE_TODAY)))).toEqual(['low-value-imaging']);
  });
  it('red-flag rows still fire under the configured age', () => {
    const cards = advise('patient-view', findingsResult({ LBP: episode(10), MOTOR: { evidence: [{ display: 'Foot drop', limb: 'leg', laterality: 'left' }] } }), { record: patientBorn(NINETEEN) });
    expect(topics(cards)).toContain('motor-deficit');
  });
});
