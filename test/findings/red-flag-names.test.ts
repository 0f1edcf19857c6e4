import type { Condition } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import type { FindingId } from '../../src/findings/index.js';
import { SCT, condition, daysAgo, evaluate } from './support.js';

/**
 * The red flags read from Conditions, written otherwise than their value sets' codes: a SNOMED CT
 * descendant, another system, or text only (each value set's name-match extension). The SNOMED code
 * 999000001 is made up, used only for being outside the value sets. Onsets are 3 days ago, inside
 * every window (FEVER 7 days, URET and FINC 30 days).
 *
 * Each list of names that must not count holds the phrasing clinicians use to rule a flag out, and
 * each list that must count holds phrasings an over-eager exclusion would lose.
 */

const BY_NAME = 'matched-by-name';

function named(display: string): Condition {
  return condition({ system: SCT, code: '999000001', display, onset: daysAgo(3) });
}

const CASES: { id: FindingId; present: string[]; absent: string[] }[] = [
  {
    id: 'CES',
    present: ['Cauda equina compression', 'Suspected cauda equina syndrome', 'Incomplete cauda equina syndrome', 'Cauda equina syndrome without neurogenic bladder'],
    absent: ['Low back pain, no cauda equina symptoms', 'Cauda equina ruled out', 'Cauda equina safety-net advice given', 'MRI negative for cauda equina compression'],
  },
  {
    id: 'SADDLE',
    present: ['Saddle anaesthesia', 'Saddle numbness', 'Perineal numbness', 'Suspected saddle anesthesia'],
    absent: ['No saddle anaesthesia', 'Saddle anaesthesia ruled out', 'Saddle sparing', 'Perineal pain'],
  },
  {
    id: 'URET',
    present: ['Acute urinary retention', 'Retention of urine due to prostatic hypertrophy', 'Urinary retention with incomplete bladder emptying'],
    absent: ['Urinary incontinence without retention', 'No urinary retention', 'Denies urinary retention'],
  },
  {
    id: 'FINC',
    present: ['Faecal incontinence', 'Incontinence of bowel', 'Urinary and fecal incontinence'],
    absent: ['No bowel incontinence', 'Family history of fecal incontinence'],
  },
  {
    id: 'MYELO',
    present: ['Cervical spondylotic myelopathy', 'Compressive myelopathy', 'Spinal cord compression', 'Myelopathy due to disc herniation'],
    absent: ['Cervical spondylosis without myelopathy or radiculopathy', 'Displacement of lumbar intervertebral disc without myelopathy', 'Umbilical cord compression'],
  },
  {
    id: 'SPINF',
    present: ['Pyogenic spondylodiscitis', 'Discitis without abscess', 'Culture-negative vertebral osteomyelitis', "Pott's disease of lumbar spine"],
    absent: ['No evidence of discitis', 'Discitis ruled out'],
  },
  {
    id: 'HIV',
    present: ['Asymptomatic HIV infection', 'HIV-2 infection', 'Human immunodeficiency virus disease', 'HIV test positive', 'HIV infection, no AIDS-defining illness', 'HIV infection, viral load not detected'],
    absent: ['HIV negative', 'No HIV infection', 'HIV exposure', 'HIV pre-exposure prophylaxis', 'Screening for HIV', 'Hearing aids'],
  },
  {
    id: 'IVDU',
    present: ['Intravenous drug user', 'Heroin dependence', 'Opioid use disorder, in remission', 'Misuses drugs (finding)', 'Cocaine abuse'],
    absent: ['Long-term current use of opioid analgesic', 'Alcohol abuse', 'Tobacco use disorder', 'Never used IV drugs'],
  },
  {
    id: 'FEVER',
    present: ['Fever with chills', 'Pyrexia of unknown origin', 'Fever without source', 'Febrile neutropenia'],
    absent: ['Hay fever', 'History of rheumatic fever', 'Yellow fever vaccination', 'Familial Mediterranean fever', 'Fever blister'],
  },
  {
    id: 'WTLOSS',
    present: ['Unintentional weight loss', 'Weight loss, no cause found', 'Cachexia'],
    absent: ['Intentional weight loss', 'Weight loss counseling', 'Weight loss surgery status', 'No weight loss', 'Weight loss advised', 'Desires weight loss'],
  },
  {
    id: 'MOTOR',
    present: ['Left foot drop', 'Drop foot gait', 'Paraparesis', 'Incomplete paraplegia'],
    absent: ['Foot drop splint fitted', 'No foot drop'],
  },
];

for (const { id, present, absent } of CASES) {
  describe(`${id} by name`, () => {
    for (const display of present) {
      it(`"${display}" -> present, matched by name`, async () => {
        const f = (await evaluate([named(display)])).findings[id];
        expect(f.state).toBe('present');
        expect(f.evidence[0]?.qualifiers).toContain(BY_NAME);
      });
    }
    for (const display of absent) {
      it(`"${display}" -> not ${id}`, async () => {
        expect((await evaluate([named(display)])).findings[id].state).not.toBe('present');
      });
    }
  });
}

describe('qualifier value sets read names too', () => {
  it('an epidural abscess named in a display outside both value sets carries the epidural-abscess qualifier (D5 critical)', async () => {
    const f = (await evaluate([named('Lumbar spinal epidural abscess')])).findings.SPINF;
    expect(f.state).toBe('present');
    expect(f.evidence[0]?.qualifiers).toEqual(expect.arrayContaining(['epidural-abscess', BY_NAME]));
  });

  it('discitis named alone is a spinal infection without the epidural-abscess qualifier', async () => {
    const f = (await evaluate([named('Pyogenic discitis')])).findings.SPINF;
    expect(f.state).toBe('present');
    expect(f.evidence[0]?.qualifiers ?? []).not.toContain('epidural-abscess');
  });
});

describe('windows and statuses still apply to name matches', () => {
  it('urinary retention named 60 days ago is not new (URET window 30 days)', async () => {
    const c = condition({ system: SCT, code: '999000001', display: 'Acute urinary retention', onset: daysAgo(60) });
    expect((await evaluate([c])).findings.URET.state).toBe('absent');
  });

  it('a resolved cauda equina syndrome written in words does not count (CES: active only)', async () => {
    const c = condition({ system: SCT, code: '999000001', display: 'Cauda equina syndrome', onset: daysAgo(3), clinical: 'resolved' });
    expect((await evaluate([c])).findings.CES.state).toBe('absent');
  });
});

describe('the remembered displays are bounded', () => {
  it('5,000 distinct unrelated displays before a red flag: the flag is still found, on this call and the next', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => condition({ system: SCT, code: '999000001', display: `Unrelated finding number ${i}`, onset: daysAgo(3) }));
    const flag = named('Acute urinary retention');
    expect((await evaluate([...many, flag])).findings.URET.state).toBe('present');
    expect((await evaluate([flag, ...many])).findings.URET.state).toBe('present');
    expect((await evaluate(many)).findings.URET.state).toBe('absent');
  });
});

describe('the text is read besides the displays', () => {
  it('a display that names nothing, with a text naming the flag -> present', async () => {
    const c = named('Problem list entry');
    c.code = { ...c.code, text: 'Acute urinary retention' };
    const f = (await evaluate([c])).findings.URET;
    expect(f.state).toBe('present');
    expect(f.evidence[0]?.display).toBe('Acute urinary retention (matched by name; no code in the value set)');
  });

  it('a text equal to the display names the flag once', async () => {
    const c = named('Acute urinary retention');
    c.code = { ...c.code, text: 'Acute urinary retention' };
    expect((await evaluate([c])).findings.URET.evidence).toHaveLength(1);
  });
});

describe('SADDLE: the perineal site named in words meets the requirement', () => {
  const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
  const skin = (text: string | undefined, bodySite?: { code: string; display: string }): Condition => {
    const c = condition({ system: ICD10CM, code: 'R20.0', display: 'Anesthesia of skin', onset: daysAgo(3) });
    if (text !== undefined) c.code = { ...c.code, text };
    // A made-up code outside the perineum value set: only its display can name the site.
    if (bodySite) c.bodySite = [{ coding: [{ system: SCT, code: bodySite.code, display: bodySite.display }] }];
    return c;
  };
  const saddle = async (c: Condition) => (await evaluate([c])).findings.SADDLE.state;

  it('R20.0 with a bodySite whose display names the perineum -> present', async () => {
    expect(await saddle(skin(undefined, { code: '999000003', display: 'Perineal region' }))).toBe('present');
  });

  it('R20.0 whose text says saddle distribution -> present', async () => {
    expect(await saddle(skin('Anaesthesia of skin, saddle distribution'))).toBe('present');
  });

  it('R20.0 elsewhere, without a site, or with saddle sparing -> not saddle anaesthesia', async () => {
    expect(await saddle(skin('Anaesthesia of skin, left foot'))).not.toBe('present');
    expect(await saddle(skin(undefined))).not.toBe('present');
    expect(await saddle(skin('Numbness of both legs, saddle sparing'))).not.toBe('present');
    expect(await saddle(skin(undefined, { code: '999000004', display: 'Structure of left foot' }))).not.toBe('present');
  });
});
