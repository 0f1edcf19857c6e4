import type { Condition } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { ICD, SCT, condition, daysAgo, evaluate, evaluateExternal } from './support.js';

/**
 * CA, IMMUNO and FXRISK from a condition's name when its code is not in the value set: SNOMED CT
 * 363346000 has thousands of descendants the service cannot enumerate without a terminology server,
 * and transplant status, osteoporosis and injuries come as SNOMED codes, situations or text (the
 * value sets' name-match extension, mappings/README.md). The SNOMED code 999000001 below is made up,
 * used only for being outside them.
 */

const BY_NAME = 'matched-by-name';

function named(display: string | undefined, text?: string, spec: { clinical?: string; verification?: string } = {}): Condition {
  const c = condition({ system: SCT, code: '999000001', onset: daysAgo(400), ...spec, ...(display !== undefined ? { display } : {}) });
  if (display === undefined) c.code = {};
  if (text !== undefined) c.code = { ...c.code, text };
  return c;
}

const caOf = async (c: Condition) => (await evaluate([c])).findings.CA;

describe('CA by name: SNOMED tumour codes and text outside the value set', () => {
  for (const display of [
    'Malignant tumor of pancreas (disorder)',
    'Adenocarcinoma of prostate',
    'Multiple myeloma',
    'Non-Hodgkin lymphoma',
    "Hodgkin's disease, nodular sclerosis",
    'Acute myeloid leukaemia',
    'Metastatic disease to bone',
    // Kept on purpose (see the exclude-words' provenance): these are cancers.
    'Triple negative breast cancer',
    'Malignant neoplasm of breast, not otherwise specified',
    'Colon cancer, no evidence of disease',
    'Prostate cancer with high risk of recurrence',
    'Suspected lung cancer (situation)',
    'Cancer survivor',
    'Cancer-related anxiety',
  ]) {
    it(`"${display}" -> present, and the evidence says it was matched by name`, async () => {
      const ca = await caOf(named(display));
      expect(ca.state).toBe('present');
      expect(ca.evidence[0]?.display).toBe(`${display} (matched by name; no code in the value set)`);
      expect(ca.evidence[0]?.qualifiers).toContain(BY_NAME);
      // The coding as the data wrote it, so a reviewer sees it was not a value-set member.
      expect(ca.evidence[0]?.code).toEqual({ system: SCT, code: '999000001', display });
    });
  }

  it('text only, no coding -> present', async () => {
    const ca = await caOf(named(undefined, 'h/o metastatic prostate cancer'));
    expect(ca.state).toBe('present');
    expect(ca.evidence[0]?.code).toBeUndefined();
  });

  for (const display of [
    'Malignant hypertension',
    'Malignant hyperthermia',
    'Family history of malignant neoplasm of breast',
    'FH: colon cancer',
    'Screening for malignant neoplasm of cervix',
    'Fear of cancer',
    'Anxiety about cancer',
    'At increased risk of breast cancer',
    'Benign neoplasm of skin',
    'Carcinoma in situ of cervix uteri',
    'Non-malignant neoplasm of bone',
    'Chronic non-cancer pain',
    'Malignant carcinoid syndrome', // carcinoid is not a listed name; its ICD code would count
    'Premalignant lesion',
  ]) {
    it(`"${display}" -> not cancer`, async () => {
      expect((await caOf(named(display))).state).toBe('absent');
    });
  }

  it('an exclusion in the text vetoes a name in the display of the same condition', async () => {
    expect((await caOf(named('Breast cancer', 'Family history only'))).state).toBe('absent');
  });

  it('a name match passes the same status rules: any clinical status counts, entered-in-error and refuted do not', async () => {
    expect((await caOf(named('Malignant tumor of pancreas', undefined, { clinical: 'resolved' }))).state).toBe('present');
    expect((await caOf(named('Malignant tumor of pancreas', undefined, { clinical: 'remission' }))).state).toBe('present');
    expect((await caOf(named('Malignant tumor of pancreas', undefined, { verification: 'entered-in-error' }))).state).toBe('absent');
    expect((await caOf(named('Malignant tumor of pancreas', undefined, { verification: 'refuted' }))).state).toBe('absent');
  });

  it('coded matches keep precedence: an ICD-10-CM C-code is matched by code, once', async () => {
    const c = condition({ system: ICD, code: 'C50.911', display: 'Malignant neoplasm of unspecified site of right female breast', onset: daysAgo(400) });
    const ca = await caOf(c);
    expect(ca.state).toBe('present');
    expect(ca.evidence).toHaveLength(1);
    expect(ca.evidence[0]?.qualifiers ?? []).not.toContain(BY_NAME);
    expect(ca.evidence[0]?.display).not.toMatch(/matched by name/);
  });

  it('the name fallback reads only the value sets that carry it: back pain is never found by name', async () => {
    const c = named('Low back pain');
    const r = await evaluate([c]);
    expect(r.findings.LBP.state).toBe('absent');
  });
});

describe('IMMUNO by name: transplant and immunosuppression written otherwise than the value set codes', () => {
  const immunoOf = async (c: Condition) => (await evaluate([c])).findings.IMMUNO;

  for (const display of ['Kidney transplant recipient', 'Status post liver transplantation', 'Allogeneic stem cell transplant', 'Patient immunocompromised due to chemotherapy', 'Common variable immunodeficiency']) {
    it(`"${display}" -> present by name`, async () => {
      const immuno = await immunoOf(named(display));
      expect(immuno.state).toBe('present');
      expect(immuno.evidence[0]?.qualifiers).toContain(BY_NAME);
    });
  }

  for (const display of ['Awaiting transplantation of kidney (situation)', 'Kidney transplant candidate', 'Living kidney donor', 'Hair transplant', 'Fecal microbiota transplantation', 'Family history of immunodeficiency']) {
    it(`"${display}" -> not immunosuppression`, async () => {
      expect((await immunoOf(named(display))).state).toBe('absent');
    });
  }

  it('IMMUNO keeps its own status rule for names: a resolved condition does not count', async () => {
    expect((await immunoOf(named('Kidney transplant recipient', undefined, { clinical: 'resolved' }))).state).toBe('absent');
  });
});

describe('FXRISK by name: osteoporosis and recent injuries written otherwise than the value set codes', () => {
  const fxrisk = async (c: Condition) => (await evaluate([c])).findings.FXRISK;
  const recent = (display: string): Condition => ({ ...named(display), onsetDateTime: daysAgo(20) });

  for (const display of ['Postmenopausal osteoporosis', 'Osteoporotic fracture of vertebra']) {
    it(`"${display}" -> present (osteoporosis)`, async () => {
      const f = await fxrisk(named(display));
      expect(f.state).toBe('present');
      expect(f.evidence[0]?.qualifiers).toEqual(expect.arrayContaining(['osteoporosis', BY_NAME]));
    });
  }

  for (const display of ['Fracture of ankle', 'Sprain of ankle', 'Whiplash injury to neck', 'Injury of kidney', 'Fragility fracture of hip']) {
    it(`"${display}" 20 days ago -> present (trauma); 200 days ago -> absent`, async () => {
      const f = await fxrisk(recent(display));
      expect(f.state).toBe('present');
      expect(f.evidence[0]?.qualifiers).toEqual(expect.arrayContaining(['trauma', BY_NAME]));
      expect((await fxrisk(named(display))).state).toBe('absent');
    });
  }

  for (const display of ['Acute kidney injury', 'Drug-induced liver injury', 'Screening for osteoporosis', 'At risk for osteoporosis', 'Family history of osteoporosis', 'Fear of falling']) {
    it(`"${display}" -> no fracture risk`, async () => {
      expect((await fxrisk(recent(display))).state).toBe('absent');
    });
  }
});

describe('the real public fixtures: conditions coded in SNOMED CT only', () => {
  const run = evaluateExternal;

  it('smart-765583: primary breast cancer (2012-01-18) a day before backache -> CA present by code', async () => {
    const r = await run('smart-765583', '2012-02-01T00:00:00Z');
    expect(r.findings.CA.state).toBe('present');
    expect(r.findings.CA.evidence.map((e) => e.code?.code).sort()).toEqual(['254837009', '408643008']);
    expect((await run('smart-765583', '2012-01-01T00:00:00Z')).findings.CA.state).toBe('absent');
  });

  it('smart-1272431: prostate (2007) and kidney (2010) cancer, years before low back pain -> CA present by code', async () => {
    const r = await run('smart-1272431', '2012-03-16T00:00:00Z');
    expect(r.findings.CA.state).toBe('present');
    expect(r.findings.CA.evidence.map((e) => e.code?.code).sort()).toEqual(['363518003', '399068003']);
    expect(r.findings.CA.evidence.every((e) => !e.qualifiers?.includes(BY_NAME))).toBe(true);
  });

  it('Synthea 79a66c97: "History of renal transplant (situation)" in SNOMED CT only -> IMMUNO present by code', async () => {
    const r = await run('79a66c97-6131-3213-f3c9-4606946ab056', '2020-01-01T00:00:00Z');
    expect(r.findings.IMMUNO.state).toBe('present');
    expect(r.findings.IMMUNO.evidence.map((e) => e.code?.code)).toContain('161665007');
  });

  it('Synthea 63ee2253: "Fracture of ankle" (2017-01-03, resolved) -> FXRISK trauma by name for 90 days, then not', async () => {
    const id = '63ee2253-bdd5-da55-2ad2-b4984d0ad700';
    const r = await run(id, '2017-02-01T00:00:00Z');
    expect(r.findings.FXRISK.state).toBe('present');
    expect(r.findings.FXRISK.evidence.find((e) => e.code?.code === '16114001')?.qualifiers).toEqual(expect.arrayContaining(['trauma', BY_NAME]));
    expect((await run(id, '2017-06-01T00:00:00Z')).findings.FXRISK.evidence.some((e) => e.code?.code === '16114001')).toBe(false);
  });

  it('Synthea 129c6ac7: lung and breast cancer by code, "Suspected lung cancer (situation)" by name', async () => {
    const r = await run('129c6ac7-8d06-89de-ad63-0204a93e76c3', '2020-01-01T00:00:00Z');
    expect(r.findings.CA.state).toBe('present');
    const byName = r.findings.CA.evidence.filter((e) => e.qualifiers?.includes(BY_NAME));
    expect(byName.map((e) => e.code?.code)).toEqual(['162573006']);
    expect(r.findings.CA.evidence.map((e) => e.code?.code).sort()).toEqual(['162573006', '254637007', '254837009', '424132000']);
  });
});
