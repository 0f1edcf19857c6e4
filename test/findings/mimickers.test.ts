import { describe, expect, it } from 'vitest';
import { ICD, SCT, condition, daysAgo, evaluate, observation, stateOf } from './support.js';

/** The mimicker findings (docs/mimickers.md): one positive and one negative case each, and the unit rules. */

describe('mimicker conditions', () => {
  const cases: [id: Parameters<typeof stateOf>[0], system: string, code: string, other: string][] = [
    ['AORTA', ICD, 'I71.40', 'I72.3'],
    ['AORTA', ICD, 'I71.02', 'I77.1'],
    ['AORTA', SCT, '233985008', '38341003'],
    ['FLANK', ICD, 'R10.9', 'R11.0'],
    ['VASCRISK', ICD, 'I10', 'I27.0'],
    ['VASCRISK', ICD, 'Z87.891', 'Z87.890'],
    ['LEGSWELL', ICD, 'R22.42', 'R22.32'],
    ['LIMBPAIN', ICD, 'M79.662', 'M79.602'],
    ['PRIORVTE', ICD, 'Z86.718', 'Z86.010'],
    ['PRIORVTE', SCT, '128053003', '38341003'],
    ['WALKPAIN', ICD, 'I70.212', 'I70.202'],
    ['PAD', ICD, 'I73.9', 'I73.00'],
    ['DIABETES', ICD, 'E11.9', 'R73.03'],
    ['LSS', ICD, 'M48.062', 'M48.02'],
    ['NEUROPATHY', ICD, 'E11.42', 'E11.9'],
    ['ALCOHOL', ICD, 'F10.20', 'F11.20'],
    ['HIPDX', ICD, 'M16.11', 'M17.11'],
    ['THIGHGROIN', ICD, 'M25.551', 'M25.561'],
  ];
  for (const [id, system, code, other] of cases) {
    it(`${id}: ${code} is present, ${other} is not`, async () => {
      const onset = daysAgo(3);
      expect(await stateOf(id, [condition({ system, code, onset })])).toBe('present');
      expect(await stateOf(id, [condition({ system, code: other, onset })])).not.toBe('present');
    });
  }

  it('diabetes insipidus is not diabetes mellitus, by name', async () => {
    expect(await stateOf('DIABETES', [condition({ system: SCT, code: '999999999', display: 'Diabetes insipidus', onset: daysAgo(3) })])).not.toBe('present');
    expect(await stateOf('DIABETES', [condition({ system: SCT, code: '999999999', display: 'Type 1 diabetes mellitus', onset: daysAgo(3) })])).toBe('present');
  });
});

describe('mimicker names, for codes the value sets cannot list', () => {
  const cases: [id: Parameters<typeof stateOf>[0], name: string][] = [
    ['AORTA', 'Aneurysm of thoracoabdominal aorta'],
    ['HIPDX', 'Primary osteoarthritis of right hip'],
    ['LEGSWELL', 'Swelling of right lower leg'],
    ['LIMBPAIN', 'Pain in left calf'],
    ['THIGHGROIN', 'Pain in right groin'],
    ['NEUROPATHY', 'Numbness of both feet'],
    ['RECENTSURG', 'Bed rest'],
  ];
  for (const [id, name] of cases) {
    it(`${id}: "${name}" is present; "Family history of ${name.toLowerCase()}" is not`, async () => {
      const onset = daysAgo(3);
      expect(await stateOf(id, [condition({ system: SCT, code: '999999999', display: name, onset })])).toBe('present');
      expect(await stateOf(id, [condition({ system: SCT, code: '999999999', display: `Family history of ${name.toLowerCase()}`, onset })])).not.toBe('present');
    });
  }
});

describe('mimicker labs: units are converted, mass and substance by molar mass', () => {
  const at = daysAgo(2);
  it('calcium 2.9 mmol/L is above 10.5 mg/dL; 2.3 mmol/L is not', async () => {
    expect(await stateOf('HYPERCA', [observation({ code: '17861-6', value: 2.9, unit: 'mmol/L', effective: at })])).toBe('present');
    expect(await stateOf('HYPERCA', [observation({ code: '17861-6', value: 2.3, unit: 'mmol/L', effective: at })])).toBe('absent');
  });
  it('creatinine 190 umol/L is raised; 90 umol/L is not; 1.8 mg/dL is', async () => {
    expect(await stateOf('RENAL', [observation({ code: '2160-0', value: 190, unit: 'umol/L', effective: at })])).toBe('present');
    expect(await stateOf('RENAL', [observation({ code: '2160-0', value: 90, unit: 'umol/L', effective: at })])).toBe('absent');
    expect(await stateOf('RENAL', [observation({ code: '2160-0', value: 1.8, unit: 'mg/dL', effective: at })])).toBe('present');
  });
  it('haemoglobin 95 g/L is anaemia, 6.5 mmol/L is not, and a low flag counts whatever the value', async () => {
    expect(await stateOf('ANAEMIA', [observation({ code: '718-7', value: 95, unit: 'g/L', effective: at })])).toBe('present');
    expect(await stateOf('ANAEMIA', [observation({ code: '718-7', value: 9.0, unit: 'mmol/L', effective: at })])).toBe('absent');
    expect(await stateOf('ANAEMIA', [observation({ code: '718-7', value: 12.4, unit: 'g/dL', effective: at, interpretation: 'L' })])).toBe('present');
  });
  it('a D-dimer in FEU at the cut-off is raised; no D-dimer in 7 days is unknown', async () => {
    expect(await stateOf('DDIMER', [observation({ code: '48065-7', value: 500, unit: 'ng/mL', effective: at })])).toBe('present');
    expect(await stateOf('DDIMER', [observation({ code: '48065-7', value: 0.3, unit: 'mg/L', effective: at })])).toBe('absent');
    expect(await stateOf('DDIMER', [observation({ code: '48065-7', value: 2, unit: 'mg/L', effective: daysAgo(20) })])).toBe('unknown');
  });
  it('a value whose unit cannot be converted is skipped with a note, never guessed', async () => {
    const r = await evaluate([observation({ code: '17861-6', value: 2.9, unit: 'mEq/L', effective: at })]);
    expect(r.findings.HYPERCA.state).toBe('unknown');
    expect(r.dataQuality.some((q) => q.findingId === 'HYPERCA' && /cannot be converted/.test(q.message))).toBe(true);
  });
});

describe('smoking status as US Core records it', () => {
  const smoking = (code: string) => {
    const o = observation({ code: '72166-2', effective: daysAgo(400) });
    o.valueCodeableConcept = { coding: [{ system: SCT, code }] };
    return o;
  };
  it('a former smoker counts as vascular risk; a never smoker does not', async () => {
    expect(await stateOf('VASCRISK', [smoking('8517006')])).toBe('present');
    expect(await stateOf('VASCRISK', [smoking('266919005')])).toBe('absent');
  });
});

describe('severe back pain (SEVBACK) as charted', () => {
  const severe = (code: string, display: string, graded = true) => {
    const c = condition({ code, display, onset: daysAgo(5) });
    if (graded) c.severity = { coding: [{ system: SCT, code: '24484000' }] };
    return c;
  };
  it('lumbago with sciatica (M54.41) graded severe is severe back pain; ungraded it is not', async () => {
    expect(await stateOf('SEVBACK', [severe('M54.41', 'Lumbago with sciatica, right side')])).toBe('present');
    expect(await stateOf('SEVBACK', [severe('M54.41', 'Lumbago with sciatica, right side', false)])).toBe('absent');
  });
  it('low back pain (M54.50) graded severe still is, counted once (not again by the trunk-pain name "back pain")', async () => {
    const r = await evaluate([severe('M54.50', 'Low back pain, unspecified')]);
    expect(r.findings.SEVBACK.state).toBe('present');
    expect(r.findings.SEVBACK.evidence).toHaveLength(1);
  });
  it('thoracic back pain (M54.6) graded severe is severe back pain', async () => {
    expect(await stateOf('SEVBACK', [severe('M54.6', 'Pain in thoracic spine')])).toBe('present');
  });
});

describe('mimicker names: negations, suspicion and sides', () => {
  const named = (display: string, code = '999999999') => condition({ system: SCT, code, display, onset: daysAgo(3) });
  it('a stenosis without neurogenic claudication (M48.061) is not leg pain on walking; with it (M48.062) it is', async () => {
    expect(await stateOf('WALKPAIN', [condition({ code: 'M48.061', display: 'Spinal stenosis, lumbar region without neurogenic claudication', onset: daysAgo(3) })])).toBe('absent');
    expect(await stateOf('WALKPAIN', [condition({ code: 'M48.062', display: 'Spinal stenosis, lumbar region with neurogenic claudication', onset: daysAgo(3) })])).toBe('present');
    expect(await stateOf('WALKPAIN', [named('Denies claudication')])).toBe('absent');
    expect(await stateOf('WALKPAIN', [named('Intermittent claudication without rest pain')])).toBe('present');
  });
  it('a suspected aortic dissection and a repaired AAA count; "no AAA" does not, an aneurysm without rupture does', async () => {
    expect(await stateOf('AORTA', [named('Suspected aortic dissection')])).toBe('present');
    expect(await stateOf('AORTA', [named('Abdominal aortic aneurysm, repaired (EVAR 2019)')])).toBe('present');
    expect(await stateOf('AORTA', [named('AAA found on screening')])).toBe('present');
    expect(await stateOf('AORTA', [named('Abdominal aortic aneurysm without rupture')])).toBe('present');
    expect(await stateOf('AORTA', [named('No AAA on ultrasound')])).toBe('absent');
    expect(await stateOf('AORTA', [named('Screening for AAA')])).toBe('absent');
  });
  it('"Swollen left calf" is leg swelling on the left; "no left leg swelling" is not swelling', async () => {
    const r = await evaluate([named('Swollen left calf')]);
    expect(r.findings.LEGSWELL.state).toBe('present');
    expect(r.findings.LEGSWELL.evidence[0]?.laterality).toBe('left');
    expect(await stateOf('LEGSWELL', [named('No left leg swelling')])).toBe('absent');
    expect(await stateOf('LEGSWELL', [named('Denies calf swelling')])).toBe('absent');
  });
});

describe('ankle-brachial index (LOINC 77194-9) as peripheral arterial disease', () => {
  const abi = (value: number, unit: string | null, effective = daysAgo(30), interpretation?: string) =>
    observation({ code: '77194-9', value, unit, effective, ...(interpretation ? { interpretation } : {}) });
  it('0.72 is PAD, 0.90 is PAD (the cut-off), 1.05 is not', async () => {
    expect(await stateOf('PAD', [abi(0.72, '{ratio}')])).toBe('present');
    expect(await stateOf('PAD', [abi(0.9, '1')])).toBe('present');
    expect(await stateOf('PAD', [abi(1.05, '{ratio}')])).toBe('absent');
  });
  it('an index without a unit is read as a ratio; a low flag counts whatever the value', async () => {
    expect(await stateOf('PAD', [abi(0.8, null)])).toBe('present');
    expect(await stateOf('PAD', [abi(0.95, '1', daysAgo(30), 'L')])).toBe('present');
  });
  it('the latest index decides (a normal one after revascularisation), and one older than 2 years is not read', async () => {
    expect(await stateOf('PAD', [abi(0.6, '1', daysAgo(200)), abi(1.0, '1', daysAgo(20))])).toBe('absent');
    expect(await stateOf('PAD', [abi(0.6, '1', daysAgo(800))])).toBe('absent');
  });
});

describe('paraesthesia (R20.2) in both feet is the stocking symptom', () => {
  const tingling = (site?: string) => {
    const c = condition({ code: 'R20.2', display: 'Paresthesia of skin', onset: daysAgo(20) });
    if (site) c.bodySite = [{ coding: [{ display: site }], text: site }];
    return c;
  };
  it('with a body site in both feet it is NEUROPATHY; in one foot, or with no site, it is not', async () => {
    expect(await stateOf('NEUROPATHY', [tingling('Both feet')])).toBe('present');
    expect(await stateOf('NEUROPATHY', [tingling('Structure of left foot')])).toBe('absent');
    expect(await stateOf('NEUROPATHY', [tingling()])).toBe('absent');
  });
  it('a foot site coded with the bilateral qualifier beside it counts', async () => {
    const c = tingling();
    c.bodySite = [{ coding: [{ system: SCT, code: '56459004', display: 'Foot structure' }, { system: SCT, code: '51440002', display: 'Right and left' }] }];
    expect(await stateOf('NEUROPATHY', [c])).toBe('present');
  });
});
