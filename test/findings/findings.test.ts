import { describe, expect, it } from 'vitest';
import {
  ICD,
  NOW,
  SCT,
  condition,
  daysAgo,
  evaluate,
  medicationRequest,
  medicationStatement,
  observation,
  patient,
  procedure,
  serviceRequest,
  stateOf,
} from './support.js';

/** One positive and one negative case for every finding of docs/clinical-rules.md (Findings). */

describe('coded conditions', () => {
  const cases: [id: Parameters<typeof stateOf>[0], system: string, code: string, other: string][] = [
    ['LBP', ICD, 'M54.50', 'J45.909'],
    ['LBP', SCT, '279039007', '195967001'],
    ['LEG', ICD, 'M54.16', 'M54.50'],
    ['LEG', SCT, '23056005', '279039007'],
    ['ARM', ICD, 'M54.12', 'M54.50'],
    ['CES', ICD, 'G83.4', 'G83.3'],
    ['URET', ICD, 'R33.9', 'R35.0'],
    ['UINC', ICD, 'R32', 'N39.3'],
    ['FINC', ICD, 'R15.9', 'K59.00'],
    ['MOTOR', ICD, 'M21.372', 'M21.6X2'],
    ['MYELO', ICD, 'G95.20', 'G95.89'],
    ['CA', ICD, 'C50.912', 'D24.1'],
    ['CA', ICD, 'Z85.3', 'Z86.010'],
    ['WTLOSS', ICD, 'R63.4', 'R63.5'],
    ['FEVER', ICD, 'R50.9', 'R51.9'],
    ['IVDU', ICD, 'F11.20', 'F10.20'],
    ['IMMUNO', ICD, 'Z94.0', 'Z95.0'],
    ['HIV', ICD, 'B20', 'B18.2'],
    ['SPINF', ICD, 'M46.26', 'M46.1'],
    ['FXRISK', ICD, 'M81.0', 'M85.80'],
    ['FXRISK', ICD, 'S32.009A', 'T15.00XA'],
    ['NIGHT', SCT, '36163009', '279039007'],
  ];
  for (const [id, system, code, other] of cases) {
    it(`${id}: ${code} is present, ${other} is not`, async () => {
      const onset = daysAgo(3);
      expect(await stateOf(id, [condition({ system, code, onset })])).toBe('present');
      expect(await stateOf(id, [condition({ system, code: other, onset })])).not.toBe('present');
    });
  }

  it('a coded finding with no matching condition is absent, not unknown (the Condition list is authoritative)', async () => {
    const r = await evaluate([condition({ code: 'J45.909', onset: daysAgo(3) })]);
    for (const id of ['LBP', 'LEG', 'ARM', 'CES', 'URET', 'CA', 'SPINF', 'HIV', 'MYELO'] as const) expect(r.findings[id].state).toBe('absent');
  });

  it('NIGHT is never absent: it is rarely coded, so no code means unknown', async () => {
    const r = await evaluate([condition({ code: 'M54.50', onset: daysAgo(3) })]);
    expect(r.findings.NIGHT.state).toBe('unknown');
    expect(r.findings.NIGHT.note).toMatch(/ask the patient/i);
  });

  it('SADDLE needs R20.0 with a perineal bodySite', async () => {
    const perineum = [{ system: SCT, code: '38864007' }];
    expect(await stateOf('SADDLE', [condition({ code: 'R20.0', onset: daysAgo(2), bodySite: perineum })])).toBe('present');
    expect(await stateOf('SADDLE', [condition({ code: 'R20.0', onset: daysAgo(2) })])).toBe('absent');
    expect(await stateOf('SADDLE', [condition({ code: 'R20.0', onset: daysAgo(2), bodySite: [{ system: SCT, code: '56459004' }] })])).toBe('absent');
  });
});

describe('evidence the rules read', () => {
  it('LEG carries limb, region and the side from the ICD-10-CM laterality character', async () => {
    const r = await evaluate([condition({ code: 'M54.31', onset: '2026-05-01' }), condition({ code: 'M54.42', onset: '2026-05-20' })]);
    const leg = r.findings.LEG;
    expect(leg.state).toBe('present');
    expect(leg.evidence.map((e) => e.laterality).sort()).toEqual(['left', 'right']);
    expect(leg.limbs).toEqual(['leg']);
    expect(leg.regions).toEqual(['lumbar']);
    expect(leg.onset).toBe('2026-05-01');
    expect(leg.evidence[0]?.reference).toMatch(/^Condition\//);
  });

  it('LEG side from a SNOMED CT bodySite qualifier', async () => {
    const r = await evaluate([condition({ system: SCT, code: '23056005', onset: daysAgo(5), bodySite: [{ system: SCT, code: '7771000' }] })]);
    expect(r.findings.LEG.evidence[0]?.laterality).toBe('left');
  });

  it('BILAT from a right and a left leg condition', async () => {
    expect(await stateOf('BILAT', [condition({ code: 'M54.31', onset: daysAgo(5) }), condition({ code: 'M54.32', onset: daysAgo(5) })])).toBe('present');
    expect(await stateOf('BILAT', [condition({ code: 'M54.31', onset: daysAgo(5) }), condition({ code: 'M54.41', onset: daysAgo(5) })])).toBe('absent');
  });

  it('BILAT from M54.40 with bodySite bilateral; unknown when the side is not recorded', async () => {
    const both = [{ system: SCT, code: '51440002' }];
    expect(await stateOf('BILAT', [condition({ code: 'M54.40', onset: daysAgo(5), bodySite: both })])).toBe('present');
    expect(await stateOf('BILAT', [condition({ code: 'M54.40', onset: daysAgo(5) })])).toBe('unknown');
    expect(await stateOf('BILAT', [condition({ code: 'M54.50', onset: daysAgo(5) })])).toBe('absent');
  });

  it('MOTOR: foot drop carries limb leg, side and foot-drop; arm monoplegia limb arm; G82.2x paraparesis is bilateral', async () => {
    const r = await evaluate([
      condition({ code: 'M21.371', onset: daysAgo(5) }),
      condition({ code: 'G83.22', onset: daysAgo(5) }),
      condition({ code: 'G82.22', onset: daysAgo(5) }),
    ]);
    const [foot, arm, para] = r.findings.MOTOR.evidence;
    expect(foot).toMatchObject({ limb: 'leg', laterality: 'right', qualifiers: ['foot-drop'] });
    expect(arm).toMatchObject({ limb: 'arm', laterality: 'left' });
    expect(para).toMatchObject({ limb: 'leg', laterality: 'bilateral', qualifiers: ['paraparesis'] });
    expect(r.findings.MOTOR.limbs?.sort()).toEqual(['arm', 'leg']);
  });

  it('SPINF: epidural abscess carries qualifier epidural-abscess; discitis does not', async () => {
    const r = await evaluate([condition({ code: 'G06.1', onset: daysAgo(2) }), condition({ system: SCT, code: '2304001', onset: daysAgo(2) })]);
    const quals = r.findings.SPINF.evidence.map((e) => e.qualifiers ?? []);
    expect(quals).toContainEqual(['epidural-abscess']);
    expect(quals).toContainEqual([]);
    const sct = await evaluate([condition({ system: SCT, code: '61974008', onset: daysAgo(2) })]);
    expect(sct.findings.SPINF.evidence[0]?.qualifiers).toEqual(['epidural-abscess']);
  });

  it('FXRISK qualifiers osteoporosis, trauma and lumbar-surgery', async () => {
    const r = await evaluate([
      condition({ system: SCT, code: '64859006', onset: '2020-01-01' }),
      condition({ code: 'S32.009A', onset: daysAgo(10), clinical: 'resolved' }),
      condition({ code: 'Z98.1', recorded: '2015-01-01', clinical: 'inactive' }),
    ]);
    expect(r.findings.FXRISK.evidence.flatMap((e) => e.qualifiers ?? []).sort()).toEqual(['lumbar-surgery', 'osteoporosis', 'trauma']);
  });

  it('FXRISK: an injury more than 90 days ago does not count', async () => {
    expect(await stateOf('FXRISK', [condition({ code: 'S32.009A', onset: daysAgo(120) })])).toBe('absent');
  });
});

describe('derived and measured findings', () => {
  it('AGE50 is strictly over 50 in completed years; a missing birth date is unknown', async () => {
    const born = (years: number, extraDays = 0): string => {
      const d = new Date(NOW);
      d.setUTCFullYear(d.getUTCFullYear() - years);
      d.setUTCDate(d.getUTCDate() - extraDays);
      return d.toISOString().slice(0, 10);
    };
    expect(await stateOf('AGE50', [patient(born(51))])).toBe('present');
    expect(await stateOf('AGE50', [patient(born(50))])).toBe('absent');
    expect(await stateOf('AGE50', [patient(born(50, 200))])).toBe('absent');
    expect(await stateOf('AGE50', [patient(born(30))])).toBe('absent');
    expect(await stateOf('AGE50', [patient()])).toBe('unknown');
    const r = await evaluate([patient(born(70))]);
    expect(r.findings.AGE50.evidence[0]?.value).toEqual({ value: 70, unit: 'a' });
  });

  it('AGE50 with a year-only birth date: decided when clear, unknown when it straddles the limit', async () => {
    expect(await stateOf('AGE50', [patient('1950')])).toBe('present');
    expect(await stateOf('AGE50', [patient('2000')])).toBe('absent');
    expect(await stateOf('AGE50', [patient('1975')])).toBe('unknown');
  });

  it('WTLOSS from a body-weight drop of at least 5 % against a weight 1-12 months earlier', async () => {
    const w = (kg: number, days: number, unit = 'kg') => observation({ code: '29463-7', value: kg, unit, effective: daysAgo(days) });
    const r = await evaluate([w(80, 200), w(75.5, 10)]);
    expect(r.findings.WTLOSS.state).toBe('present');
    expect(r.findings.WTLOSS.evidence[0]?.qualifiers).toEqual(['weight-drop']);
    expect(await stateOf('WTLOSS', [w(80, 200), w(77, 10)])).toBe('absent');
    // The earlier weight must be at least a month before the latest.
    expect(await stateOf('WTLOSS', [w(80, 20), w(70, 10)])).toBe('unknown');
    // Pounds are converted: 176.4 [lb_av] is 80.0 kg.
    expect(await stateOf('WTLOSS', [w(176.4, 200, '[lb_av]'), w(75, 10)])).toBe('present');
  });

  it('WTLOSS is unknown without weights and without a coded weight loss', async () => {
    expect(await stateOf('WTLOSS', [condition({ code: 'M54.50', onset: daysAgo(3) })])).toBe('unknown');
  });

  it('FEVER from a site-specific temperature code sent without 8310-5 (axillary, rectal, tympanic), in [degF] too', async () => {
    for (const code of ['8328-7', '8332-9', '8333-7']) {
      expect(await stateOf('FEVER', [observation({ code, value: 101.3, unit: '[degF]', effective: daysAgo(1) })]), code).toBe('present');
      expect(await stateOf('FEVER', [observation({ code, value: 98.6, unit: '[degF]', effective: daysAgo(1) })]), code).toBe('absent');
    }
  });

  it('FEVER from a temperature >= 38.0 Cel in the last 7 days; lower is absent; none is unknown', async () => {
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 38.4, unit: 'Cel', effective: daysAgo(2) })])).toBe('present');
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 37.2, unit: 'Cel', effective: daysAgo(2) })])).toBe('absent');
    expect(await stateOf('FEVER', [])).toBe('unknown');
    expect(await stateOf('FEVER', [observation({ code: '8310-5', value: 39, unit: 'Cel', effective: daysAgo(8) })])).toBe('unknown');
  });

  it('ESR >= 20 mm/h in the last 30 days', async () => {
    const r = await evaluate([observation({ code: '4537-7', value: 42, unit: 'mm/h', effective: daysAgo(3) })]);
    expect(r.findings.ESR.state).toBe('present');
    expect(r.findings.ESR.evidence[0]?.value).toEqual({ value: 42, unit: 'mm/h' });
    expect(await stateOf('ESR', [observation({ code: '30341-2', value: 19, unit: 'mm/h', effective: daysAgo(3) })])).toBe('absent');
    expect(await stateOf('ESR', [observation({ code: '30341-2', value: 20, unit: 'mm/h', effective: daysAgo(3) })])).toBe('present');
  });

  it('CRP > 10 mg/L or interpretation high in the last 30 days', async () => {
    expect(await stateOf('CRP', [observation({ code: '1988-5', value: 25, unit: 'mg/L', effective: daysAgo(3) })])).toBe('present');
    expect(await stateOf('CRP', [observation({ code: '1988-5', value: 10, unit: 'mg/L', effective: daysAgo(3) })])).toBe('absent');
    expect(await stateOf('CRP', [observation({ code: '1988-5', value: 8, unit: 'mg/L', effective: daysAgo(3), interpretation: 'H' })])).toBe('present');
  });

  it('PAIN records the latest score and marks >= 7 severe', async () => {
    const r = await evaluate([
      observation({ code: '72514-3', value: 4, unit: '{score}', effective: daysAgo(20) }),
      observation({ code: '72514-3', valueInteger: 8, effective: daysAgo(2) }),
    ]);
    expect(r.findings.PAIN.state).toBe('present');
    expect(r.findings.PAIN.evidence).toHaveLength(1);
    expect(r.findings.PAIN.evidence[0]).toMatchObject({ value: { value: 8, unit: '{score}' }, qualifiers: ['severe'] });
    const mild = await evaluate([observation({ code: '72514-3', value: 3, unit: '{score}', effective: daysAgo(2) })]);
    expect(mild.findings.PAIN.evidence[0]?.qualifiers).toBeUndefined();
    expect(await stateOf('PAIN', [])).toBe('unknown');
  });

  it('IMMUNO from at least 90 days of systemic glucocorticoid in 12 months, with steroid-days', async () => {
    const r = await evaluate([
      medicationRequest({ code: '8640', authoredOn: daysAgo(200), supplyDays: 30, repeats: 2 }),
      medicationRequest({ code: '8640', authoredOn: daysAgo(100), supplyDays: 30 }),
    ]);
    expect(r.findings.IMMUNO.state).toBe('present');
    expect(r.findings.IMMUNO.evidence[0]?.qualifiers).toEqual(['steroid-days:120']);
    // 60 days is not enough.
    expect(await stateOf('IMMUNO', [medicationRequest({ code: '8640', authoredOn: daysAgo(200), supplyDays: 60 })])).toBe('absent');
    // Overlapping periods are not counted twice.
    expect(
      await stateOf('IMMUNO', [
        medicationStatement({ code: '8640', start: daysAgo(100), end: daysAgo(40) }),
        medicationStatement({ code: '8640', start: daysAgo(90), end: daysAgo(30) }),
      ]),
    ).toBe('absent');
    // An active statement runs until now.
    expect(await stateOf('IMMUNO', [medicationStatement({ code: '6902', status: 'active', start: daysAgo(120) })])).toBe('present');
  });

  it('IMMUNO is unknown, with a note, when a steroid order has no duration', async () => {
    const r = await evaluate([medicationRequest({ code: '8640', authoredOn: daysAgo(100), status: 'completed' })]);
    expect(r.findings.IMMUNO.state).toBe('unknown');
    expect(r.dataQuality.some((n) => n.findingId === 'IMMUNO' && /duration/.test(n.message))).toBe(true);
  });

  it('TRIAL: an NSAID or physiotherapy since the episode began', async () => {
    const lbp = condition({ code: 'M54.50', onset: daysAgo(60) });
    const r = await evaluate([lbp, medicationRequest({ code: '5640', authoredOn: daysAgo(30) }), serviceRequest('308447003', daysAgo(20))]);
    expect(r.findings.TRIAL.state).toBe('present');
    expect(r.findings.TRIAL.evidence.flatMap((e) => e.qualifiers ?? []).sort()).toEqual(['nsaid', 'physiotherapy']);
    // Before the episode: does not count.
    expect(await stateOf('TRIAL', [lbp, medicationRequest({ code: '7258', authoredOn: daysAgo(90) })])).toBe('absent');
    expect(await stateOf('TRIAL', [lbp, procedure('308447003', daysAgo(10))])).toBe('present');
  });

  it('a resource coded twice in the same value set is one piece of evidence', async () => {
    const c = condition({ code: 'M54.50', onset: daysAgo(3) });
    c.code?.coding?.push({ system: SCT, code: '279039007' });
    const r = await evaluate([condition({ system: SCT, code: '279039007', onset: daysAgo(9) }), c]);
    expect(r.findings.LBP.evidence).toHaveLength(2);
  });

  it('LBP onset is the start of the current episode; resolved episodes are ignored', async () => {
    const r = await evaluate([
      condition({ code: 'M54.50', onset: '2019-01-01', clinical: 'resolved' }),
      condition({ system: SCT, code: '278862001', onset: '2026-06-01' }),
    ]);
    expect(r.findings.LBP.onset).toBe('2026-06-01');
    expect(r.findings.LBP.evidence).toHaveLength(1);
  });

});
