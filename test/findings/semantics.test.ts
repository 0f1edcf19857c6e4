import type { Condition } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { ICD, SCT, WHO, condition, daysAgo, evaluate, observation, stateOf } from './support.js';

/** The status, unit, window, date and coding rules of issue 3, one assertion each. */

describe('Condition status rules', () => {
  for (const clinical of ['active', 'recurrence', 'relapse']) {
    it(`clinicalStatus ${clinical} counts`, async () => {
      expect(await stateOf('LBP', [condition({ code: 'M54.50', clinical, onset: daysAgo(3) })])).toBe('present');
    });
  }
  for (const clinical of ['resolved', 'inactive', 'remission']) {
    it(`clinicalStatus ${clinical} does not count for an episode finding`, async () => {
      expect(await stateOf('LBP', [condition({ code: 'M54.50', clinical, onset: daysAgo(3) })])).toBe('absent');
    });
  }
  for (const verification of ['entered-in-error', 'refuted']) {
    it(`verificationStatus ${verification} never counts, even for cancer`, async () => {
      expect(await stateOf('LBP', [condition({ code: 'M54.50', verification, onset: daysAgo(3) })])).toBe('absent');
      expect(await stateOf('CA', [condition({ code: 'C50.912', verification, onset: '2010-01-01' })])).toBe('absent');
    });
  }
  for (const verification of ['provisional', 'differential', 'unconfirmed', 'confirmed']) {
    it(`verificationStatus ${verification} counts`, async () => {
      expect(await stateOf('CES', [condition({ code: 'G83.4', verification, onset: daysAgo(1) })])).toBe('present');
    });
  }

  it('cancer counts at any clinicalStatus, including resolved and remission', async () => {
    expect(await stateOf('CA', [condition({ code: 'C61', clinical: 'resolved', onset: '2005-01-01' })])).toBe('present');
    expect(await stateOf('CA', [condition({ system: SCT, code: '363346000', clinical: 'remission', onset: '2005-01-01' })])).toBe('present');
  });

  it('a spinal infection counts when active, or resolved within 12 months; not resolved longer ago', async () => {
    expect(await stateOf('SPINF', [condition({ code: 'M46.46', onset: '2015-01-01' })])).toBe('present');
    expect(await stateOf('SPINF', [condition({ code: 'M46.46', clinical: 'resolved', onset: daysAgo(200) })])).toBe('present');
    expect(await stateOf('SPINF', [condition({ code: 'M46.46', clinical: 'resolved', onset: daysAgo(400) })])).toBe('absent');
  });

  it('a resolved spinal infection without any date is not counted, and the card is told why', async () => {
    const r = await evaluate([condition({ code: 'G06.1', clinical: 'resolved' })]);
    expect(r.findings.SPINF.state).toBe('absent');
    expect(r.dataQuality.some((n) => n.findingId === 'SPINF' && /no date/.test(n.message))).toBe(true);
  });

  it('MOTOR counts when active, or any status with onset within 6 weeks', async () => {
    expect(await stateOf('MOTOR', [condition({ code: 'M21.372', clinical: 'resolved', onset: daysAgo(20) })])).toBe('present');
    expect(await stateOf('MOTOR', [condition({ code: 'M21.372', clinical: 'resolved', onset: daysAgo(60) })])).toBe('absent');
  });

  it('a Condition without clinicalStatus is counted as current, with a data-quality note', async () => {
    const r = await evaluate([condition({ code: 'G83.4', clinical: null, onset: daysAgo(1) })]);
    expect(r.findings.CES.state).toBe('present');
    expect(r.dataQuality.some((n) => n.findingId === 'CES' && /clinicalStatus/.test(n.message))).toBe(true);
  });

  it('an STU3-style plain-code clinicalStatus is still read', async () => {
    const c = { ...condition({ code: 'M54.50', onset: daysAgo(3) }), clinicalStatus: 'resolved' } as unknown as Condition;
    expect(await stateOf('LBP', [c])).toBe('absent');
  });
});

describe('Observation status and value rules', () => {
  for (const status of ['final', 'amended', 'corrected', 'preliminary']) {
    it(`status ${status} counts`, async () => {
      expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: 'Cel', status, effective: daysAgo(1) })])).toBe('present');
    });
  }
  for (const status of ['registered', 'cancelled', 'entered-in-error', 'unknown']) {
    it(`status ${status} does not count`, async () => {
      expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: 'Cel', status, effective: daysAgo(1) })])).toBe('unknown');
    });
  }

  it('an Observation without a value is skipped with a data-quality note', async () => {
    const o = observation({ code: '8310-5', effective: daysAgo(1), id: 'novalue' });
    const r = await evaluate([o]);
    expect(r.findings.FEVER.state).toBe('unknown');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Observation/novalue', findingId: 'FEVER', message: expect.stringMatching(/no value/) }));
  });
});

describe('units are normalised with ucum-lhc', () => {
  it('[degF] to Cel: 100.4 [degF] is fever, 100.2 [degF] is not', async () => {
    const r = await evaluate([observation({ code: '8310-5', value: 100.4, unit: '[degF]', effective: daysAgo(1) })]);
    expect(r.findings.FEVER.state).toBe('present');
    expect(r.findings.FEVER.evidence[0]?.value?.unit).toBe('Cel');
    expect(r.findings.FEVER.evidence[0]?.value?.value).toBeCloseTo(38.0, 6);
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 100.2, unit: '[degF]', effective: daysAgo(1) })])).toBe('absent');
  });

  it('mg/dL to mg/L: 1.5 mg/dL is 15 mg/L, raised; 0.8 mg/dL is not', async () => {
    const r = await evaluate([observation({ code: '1988-5', value: 1.5, unit: 'mg/dL', effective: daysAgo(1) })]);
    expect(r.findings.CRP.evidence[0]?.value).toEqual({ value: 15, unit: 'mg/L' });
    expect(await stateOf('CRP', [observation({ code: '1988-5', value: 0.8, unit: 'mg/dL', effective: daysAgo(1) })])).toBe('absent');
  });

  it('[lb_av] to kg', async () => {
    const r = await evaluate([
      observation({ code: '29463-7', value: 200, unit: '[lb_av]', effective: daysAgo(200) }),
      observation({ code: '29463-7', value: 185, unit: '[lb_av]', effective: daysAgo(5) }),
    ]);
    expect(r.findings.WTLOSS.state).toBe('present');
    expect(r.findings.WTLOSS.evidence[0]?.value?.unit).toBe('kg');
    expect(r.findings.WTLOSS.evidence[0]?.value?.value).toBeCloseTo(83.915, 2);
  });

  it('data-quality notes are capped per finding and the rest counted', async () => {
    const many = Array.from({ length: 30 }, (_, i) => observation({ code: '8310-5', value: 39, unit: 'furlong', effective: daysAgo(1), id: `odd-${i}` }));
    const r = await evaluate(many);
    const fever = r.dataQuality.filter((n) => n.findingId === 'FEVER');
    expect(fever).toHaveLength(21);
    expect(fever.at(-1)?.message).toMatch(/^10 more/);
  });

  it('an unknown unit gives no finding and a data-quality note, and never throws', async () => {
    const r = await evaluate([observation({ code: '8310-5', value: 39, unit: 'degrees-ish', effective: daysAgo(1), id: 'oddunit' })]);
    expect(r.findings.FEVER.state).toBe('unknown');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Observation/oddunit', message: expect.stringMatching(/cannot be converted/) }));
  });

  it('a unit of the wrong dimension is refused the same way', async () => {
    const r = await evaluate([observation({ code: '8310-5', value: 39, unit: 'mg/dL', effective: daysAgo(1) })]);
    expect(r.findings.FEVER.state).toBe('unknown');
    expect(r.dataQuality.some((n) => n.findingId === 'FEVER')).toBe(true);
  });

  it('a value with no unit at all is not guessed (temperature), but a pain score may omit it', async () => {
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: null, effective: daysAgo(1) })])).toBe('unknown');
    expect(await stateOf('PAIN', [observation({ code: '72514-3', value: 6, unit: null, effective: daysAgo(1) })])).toBe('present');
  });
});

describe('time windows and dates', () => {
  it('Conditions use onset[x], else recordedDate', async () => {
    expect(await stateOf('URET', [condition({ code: 'R33.9', onsetPeriodStart: daysAgo(5) })])).toBe('present');
    expect(await stateOf('URET', [condition({ code: 'R33.9', recorded: daysAgo(5) })])).toBe('present');
    // onset wins over recordedDate: an old onset recorded yesterday is not new.
    expect(await stateOf('URET', [condition({ code: 'R33.9', onset: daysAgo(90), recorded: daysAgo(1) })])).toBe('absent');
  });

  it('Observations use effective[x], else issued', async () => {
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: 'Cel', issued: daysAgo(1) })])).toBe('present');
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: 'Cel', effective: daysAgo(20), issued: daysAgo(1) })])).toBe('unknown');
  });

  it('window edges: URET onset 29 days ago counts, 31 days ago does not', async () => {
    expect(await stateOf('URET', [condition({ code: 'R33.9', onset: daysAgo(29) })])).toBe('present');
    expect(await stateOf('URET', [condition({ code: 'R33.9', onset: daysAgo(31) })])).toBe('absent');
  });

  it('a partial date counts while any part of it lies in the window', async () => {
    const thisMonth = daysAgo(0).slice(0, 7);
    expect(await stateOf('URET', [condition({ code: 'R33.9', onset: thisMonth })])).toBe('present');
    expect(await stateOf('URET', [condition({ code: 'R33.9', onset: '2020' })])).toBe('absent');
  });

  it('a current red-flag Condition without any date is counted, with a data-quality note', async () => {
    const r = await evaluate([condition({ code: 'R33.9', id: 'undated' })]);
    expect(r.findings.URET.state).toBe('present');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Condition/undated', findingId: 'URET', message: expect.stringMatching(/no onset or recorded date/) }));
  });

  it('an Observation without any date is not used in a window, with a data-quality note', async () => {
    const r = await evaluate([observation({ code: '8310-5', value: 39.5, unit: 'Cel', id: 'undated-temp' })]);
    expect(r.findings.FEVER.state).toBe('unknown');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Observation/undated-temp', message: expect.stringMatching(/no date/) }));
  });

  it('a garbage date is treated as missing and noted', async () => {
    const r = await evaluate([condition({ code: 'R33.9', onset: 'last tuesday', id: 'garbage' })]);
    expect(r.findings.URET.state).toBe('present');
    expect(r.dataQuality.some((n) => n.reference === 'Condition/garbage' && /Unreadable date/.test(n.message))).toBe(true);
  });

  it('data dated after the evaluation time is not used, with a note', async () => {
    const r = await evaluate([observation({ code: '8310-5', value: 39, unit: 'Cel', effective: daysAgo(-10) })]);
    expect(r.findings.FEVER.state).toBe('unknown');
    expect(r.dataQuality.some((n) => /after the evaluation time/.test(n.message))).toBe(true);
  });
});

describe('codings', () => {
  it('are matched by system and code: the right code in another system does not match', async () => {
    expect(await stateOf('CES', [condition({ system: 'http://example.org/local', code: 'G83.4', onset: daysAgo(1) })])).toBe('absent');
    expect(await stateOf('LBP', [condition({ system: ICD, code: '279039007', onset: daysAgo(1) })])).toBe('absent');
  });

  it('any listed coding of a concept matches (SNOMED CT beside a local code)', async () => {
    const c = condition({ system: 'http://example.org/local', code: 'BACK1', onset: daysAgo(1) });
    c.code?.coding?.push({ system: SCT, code: '279039007' });
    expect(await stateOf('LBP', [c])).toBe('present');
  });

  it('WHO ICD-10 codes match where the value set lists them; laterality is never read from them', async () => {
    expect(await stateOf('LBP', [condition({ system: WHO, code: 'M54.5', onset: daysAgo(1) })])).toBe('present');
    expect(await stateOf('CA', [condition({ system: WHO, code: 'C97', onset: '2001-01-01' })])).toBe('present');
    const r = await evaluate([condition({ system: WHO, code: 'M54.3', onset: daysAgo(1) })]);
    expect(r.findings.LEG.evidence[0]?.laterality).toBe('unspecified');
  });

  it('ICD-10-CM codes are matched with their dot; a dotless code is not matched but noted', async () => {
    const r = await evaluate([condition({ code: 'G834', onset: daysAgo(1), id: 'dotless' })]);
    expect(r.findings.CES.state).toBe('absent');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Condition/dotless', findingId: 'CES', message: expect.stringMatching(/without its dot/) }));
  });

  it('a chart with thousands of distinct unknown codes still finds, and notes, the ones that matter', async () => {
    // More distinct codes than the per-value-set code memo keeps: it is emptied part-way through.
    const noise = Array.from({ length: 5000 }, (_, i) => condition({ code: `Z99.${i}`, onset: daysAgo(2) }));
    const r = await evaluate([...noise, condition({ code: 'M54.50', onset: daysAgo(3) }), condition({ code: 'G834', onset: daysAgo(1), id: 'dotless-late' })]);
    expect(r.findings.LBP.state).toBe('present');
    expect(r.dataQuality).toContainEqual(expect.objectContaining({ reference: 'Condition/dotless-late', findingId: 'CES' }));
    // The same again, now that the memo holds a different mix of codes.
    expect(await stateOf('LBP', [condition({ code: 'M54.50', onset: daysAgo(3) })])).toBe('present');
    expect(await stateOf('LBP', [...noise.slice(0, 10)])).toBe('absent');
  });

  it('ICD-10-CM ranges: C00-C96 includes C7A.0 and C96.9, excludes D00.0; Z85 includes Z85.3', async () => {
    expect(await stateOf('CA', [condition({ code: 'C7A.00', onset: '2010-01-01' })])).toBe('present');
    expect(await stateOf('CA', [condition({ code: 'C96.9', onset: '2010-01-01' })])).toBe('present');
    expect(await stateOf('CA', [condition({ code: 'D00.00', onset: '2010-01-01' })])).toBe('absent');
    expect(await stateOf('CA', [condition({ code: 'Z85.3', onset: '2010-01-01' })])).toBe('present');
  });

  it('UINC excludes stress incontinence N39.3 and any onset over 30 days', async () => {
    expect(await stateOf('UINC', [condition({ code: 'N39.3', onset: daysAgo(2) })])).toBe('absent');
    expect(await stateOf('UINC', [condition({ code: 'R32', onset: daysAgo(45) })])).toBe('absent');
  });
});
