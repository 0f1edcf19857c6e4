import type { Observation, Procedure } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { SCT, daysAgo, evaluate, stateOf } from './support.js';

/**
 * Examination findings as US Core EHRs chart them (issue 13): an Observation of category exam whose
 * code is the finding, whose value is the finding, whose code is the test with a result, or a grade.
 * Negative values, interpretations, dataAbsentReason and withdrawn statuses never count.
 */
const EXAM = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam' }] }];
let n = 0;
function exam(code: Observation['code'], extra: Partial<Observation> = {}): Observation {
  return { resourceType: 'Observation', id: `exam-${++n}`, status: 'final', category: EXAM, subject: { reference: 'Patient/p1' }, code, effectiveDateTime: daysAgo(1), ...extra };
}
const text = (t: string) => ({ text: t });
const sct = (code: string, display: string) => ({ coding: [{ system: SCT, code, display }] });
const FOOT_DROP = sct('6077001', 'Foot drop');
const LEFT_FOOT = sct('22335008', 'Structure of left foot');

describe('the finding as the code', () => {
  it('counts with no value, with valueBoolean true, and with a positive answer; the side and limb come from bodySite', async () => {
    for (const extra of [{}, { valueBoolean: true }, { valueCodeableConcept: sct('10828004', 'Positive') }]) {
      const r = await evaluate([exam(FOOT_DROP, { bodySite: LEFT_FOOT, ...extra })]);
      expect(r.findings.MOTOR.state).toBe('present');
      expect(r.findings.MOTOR.evidence[0]).toMatchObject({ limb: 'leg', laterality: 'left' });
    }
  });
  it('does not count when the value or the interpretation denies it', async () => {
    for (const extra of [
      { valueBoolean: false },
      { valueCodeableConcept: sct('2667000', 'Absent') },
      { valueString: 'negative' },
      { valueBoolean: true, interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'NEG' }] }] },
    ]) {
      expect(await stateOf('MOTOR', [exam(FOOT_DROP, extra)]), JSON.stringify(extra)).toBe('absent');
    }
  });
  it('does not count when entered in error, cancelled, not assessed (dataAbsentReason) or undecided', async () => {
    const dar = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-performed' }] };
    for (const extra of [{ status: 'entered-in-error' as const }, { status: 'cancelled' as const }, { dataAbsentReason: dar }, { valueString: 'equivocal' }]) {
      expect(await stateOf('MOTOR', [exam(FOOT_DROP, extra)]), JSON.stringify(extra)).toBe('absent');
    }
  });
  it('counts in words ("Right foot drop") and as the value of a generic code', async () => {
    expect(await stateOf('MOTOR', [exam(text('Right foot drop'))])).toBe('present');
    expect(await stateOf('MOTOR', [exam(text('Neurological examination finding'), { valueCodeableConcept: FOOT_DROP })])).toBe('present');
    expect(await stateOf('MOTOR', [exam(text('No foot drop'))])).toBe('absent');
  });
  it('an exam older than the window does not count', async () => {
    expect(await stateOf('MOTOR', [exam(FOOT_DROP, { effectiveDateTime: daysAgo(60) })])).toBe('absent');
  });
});

describe('a grade', () => {
  const power = text('Ankle dorsiflexion strength');
  it.each([
    [{ valueQuantity: { value: 3 } }, 'present'],
    [{ valueInteger: 4 }, 'present'],
    [{ valueString: '4+/5' }, 'present'],
    [{ valueString: '5/5' }, 'absent'],
    [{ valueCodeableConcept: text('Reduced') }, 'present'],
    [{ valueCodeableConcept: text('Normal') }, 'absent'],
  ] as const)('%j -> %s', async (value, state) => {
    expect(await stateOf('MOTOR', [exam(power, { bodySite: sct('62175007', 'Structure of right lower limb'), ...value } as Partial<Observation>)])).toBe(state);
  });
});

describe('the test as the code', () => {
  it('a positive Babinski or Hoffmann, brisk reflexes or sustained clonus is myelopathy; negative, flexor or normal is not', async () => {
    for (const [code, value, state] of [
      ['Babinski reflex', 'Positive', 'present'],
      ["Hoffmann's sign", 'present', 'present'],
      ['Deep tendon reflexes', 'brisk', 'present'],
      ['Babinski reflex', 'Negative', 'absent'],
      ['Plantar response', 'flexor', 'absent'],
      ['Gait', 'normal', 'absent'],
    ] as const) {
      expect(await stateOf('MYELO', [exam(text(code), { valueString: value })]), `${code}: ${value}`).toBe(state);
    }
  });
  it('antalgic gait is not myelopathy', async () => {
    expect(await stateOf('MYELO', [exam(text('Antalgic gait'))])).toBe('absent');
  });
  it('reduced anal tone is a cauda equina sign; normal tone is not', async () => {
    expect(await stateOf('CES', [exam(text('Anal sphincter tone'), { valueString: 'Reduced' })])).toBe('present');
    expect(await stateOf('CES', [exam(text('Anal sphincter tone'), { valueString: 'Normal' })])).toBe('absent');
  });
  it('reduced saddle sensation is saddle anaesthesia; intact is not', async () => {
    expect(await stateOf('SADDLE', [exam(text('Saddle sensation'), { valueString: 'reduced' })])).toBe('present');
    expect(await stateOf('SADDLE', [exam(text('Saddle sensation'), { valueString: 'intact' })])).toBe('absent');
  });
  it('a positive straight-leg raise is LEG with the side of its bodySite, and its exam date is not the onset', async () => {
    const r = await evaluate([exam(text('Straight leg raise test'), { bodySite: sct('32153003', 'Structure of left lower limb'), valueCodeableConcept: sct('10828004', 'Positive') })]);
    expect(r.findings.LEG.state).toBe('present');
    expect(r.findings.LEG.laterality).toEqual(['left']);
    expect(r.findings.LEG.onset).toBeUndefined();
  });
});

describe('post-void residual', () => {
  const pvr = (value: number, unit: string): Observation => exam(text('Post void residual volume'), { valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit } });
  it('over 200 mL is urinary retention, in any volume unit; 200 mL or less is not', async () => {
    expect(await stateOf('URET', [pvr(350, 'mL')])).toBe('present');
    expect(await stateOf('URET', [pvr(0.25, 'L')])).toBe('present');
    expect(await stateOf('URET', [pvr(200, 'mL')])).toBe('absent');
  });
});

describe('procedures', () => {
  const proc = (code: Procedure['code'], performed: string, status: Procedure['status'] = 'completed'): Procedure => ({
    resourceType: 'Procedure', id: `proc-${++n}`, status, subject: { reference: 'Patient/p1' }, code, performedDateTime: performed,
  });
  it('a completed lumbar discectomy at any date is prior lumbar surgery; not-done is not', async () => {
    const cpt = { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '63030' }] };
    const r = await evaluate([proc(cpt, '2015-05-05')]);
    expect(r.findings.FXRISK.evidence[0]?.qualifiers).toContain('lumbar-surgery');
    expect(await stateOf('FXRISK', [proc(cpt, '2015-05-05', 'not-done')])).toBe('absent');
    expect(await stateOf('FXRISK', [proc(text('L4-5 microdiscectomy'), '2015-05-05')])).toBe('present');
    expect(await stateOf('FXRISK', [proc(text('Cervical discectomy and fusion (ACDF)'), '2015-05-05')])).toBe('absent');
  });
  it('a spinal injection or operation in the last 90 days is a recent spinal procedure; earlier, or a labour epidural, is not', async () => {
    const esi = { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '64483' }] };
    expect(await stateOf('SPPROC', [proc(esi, daysAgo(20))])).toBe('present');
    expect(await stateOf('SPPROC', [proc(esi, daysAgo(120))])).toBe('absent');
    expect(await stateOf('SPPROC', [proc(text('Epidural analgesia for labor'), daysAgo(20))])).toBe('absent');
  });
});

describe('laterality in bodySite', () => {
  it('an unsided sciatica with the right and left lower limb as body sites is bilateral', async () => {
    const r = await evaluate([
      {
        resourceType: 'Condition', id: 'sci', subject: { reference: 'Patient/p1' },
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: sct('23056005', 'Sciatica'), onsetDateTime: daysAgo(5),
        bodySite: [sct('62175007', 'Structure of right lower limb'), sct('32153003', 'Structure of left lower limb')],
      },
    ]);
    expect(r.findings.LEG.laterality).toEqual(['bilateral']);
    expect(r.findings.BILAT.state).toBe('present');
  });
});

describe('whether the examination was made (examined), whatever the state', () => {
  const dar = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-performed' }] };
  const saddle = text('Saddle sensation');
  it('a normal result examines; not assessed, not final or outside the window does not', async () => {
    const normal = await evaluate([exam(text('Ankle dorsiflexion strength'), { valueString: '5/5' })]);
    expect(normal.findings.MOTOR).toMatchObject({ state: 'absent', examined: true });
    expect(normal.findings.SADDLE).toMatchObject({ state: 'absent', examined: false });
    for (const extra of [{ dataAbsentReason: dar }, { status: 'registered' as const, valueString: 'normal' }, { valueString: 'intact', effectiveDateTime: daysAgo(60) }]) {
      const r = await evaluate([exam(saddle, extra)]);
      expect(r.findings.SADDLE, JSON.stringify(extra)).toMatchObject({ state: 'absent', examined: false });
    }
    expect((await evaluate([exam(saddle, { valueString: 'intact' })])).findings.SADDLE).toMatchObject({ state: 'absent', examined: true });
  });
  it('a sign found examines; a finding without examination criteria carries no mark', async () => {
    const r = await evaluate([exam(FOOT_DROP, { bodySite: LEFT_FOOT })]);
    expect(r.findings.MOTOR).toMatchObject({ state: 'present', examined: true });
    expect(r.findings.FEVER.examined).toBeUndefined();
  });
});
