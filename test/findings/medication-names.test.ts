import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CodeableConcept, FhirResource, MedicationRequest, MedicationStatement } from 'fhir/r4';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluateFindings, loadMappings, type Evidence, type FindingsResult, type MappingLoadError } from '../../src/findings/index.js';
import { MAPPINGS_DIR, NOW, RXNORM, condition, daysAgo, evaluate, evaluateExternal, expectLoadFailure, medicationRequest, recordOf } from './support.js';

/**
 * Medications coded with clinical-drug codes (SCD/SBD) or named only in text: the RxNorm codes of
 * the IMMUNO/TRIAL value sets are ingredients, so these are found by the ingredient-name fallback of
 * the value set (extension name-match, mappings/README.md). The non-ingredient codes below
 * are made up for the tests (only their being outside the value set matters), except where the
 * Synthea fixture is cited.
 */

const NDC = 'http://hl7.org/fhir/sid/ndc';
const BY_NAME = 'matched-by-name';
let seq = 0;

function request(concept: CodeableConcept, spec: { authoredDaysAgo?: number; supplyDays?: number; status?: MedicationRequest['status'] } = {}): MedicationRequest {
  const m: MedicationRequest = {
    resourceType: 'MedicationRequest',
    id: `name-req-${++seq}`,
    status: spec.status ?? 'completed',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: concept,
    authoredOn: daysAgo(spec.authoredDaysAgo ?? 130),
  };
  if (spec.supplyDays !== undefined) m.dispenseRequest = { expectedSupplyDuration: { value: spec.supplyDays, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' } };
  return m;
}

function statement(concept: CodeableConcept, startDaysAgo: number, endDaysAgo: number): MedicationStatement {
  return {
    resourceType: 'MedicationStatement',
    id: `name-stmt-${++seq}`,
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: concept,
    effectivePeriod: { start: daysAgo(startDaysAgo), end: daysAgo(endDaysAgo) },
  };
}

const rx = (code: string, display?: string, text?: string): CodeableConcept => ({
  coding: [{ system: RXNORM, code, ...(display !== undefined ? { display } : {}) }],
  ...(text !== undefined ? { text } : {}),
});

/** A long steroid course (120 days in the last 365) of the given medication. */
const longCourse = (concept: CodeableConcept): MedicationRequest => request(concept, { authoredDaysAgo: 130, supplyDays: 120 });

const steroidEvidence = (r: FindingsResult): Evidence[] => r.findings.IMMUNO.evidence.filter((e) => e.qualifiers?.some((q) => q.startsWith('steroid-days:')));

describe('IMMUNO: systemic glucocorticoids by ingredient name', () => {
  it('prednisone SCD (not an ingredient code) named in the coding display, 120 days -> present, steroid-days and matched-by-name', async () => {
    const r = await evaluate([longCourse(rx('312617', 'predniSONE 5 MG Oral Tablet'))]);
    expect(r.findings.IMMUNO.state).toBe('present');
    const [ev] = steroidEvidence(r);
    expect(ev?.qualifiers).toEqual(expect.arrayContaining(['steroid-days:120', BY_NAME]));
    expect(ev?.display).toBe('predniSONE 5 MG Oral Tablet (matched by ingredient name)');
    // The coding is shown as the data wrote it.
    expect(ev?.code).toEqual({ system: RXNORM, code: '312617', display: 'predniSONE 5 MG Oral Tablet' });
    expect(ev?.reference).toMatch(/^MedicationRequest\//);
    // A name match is said on the evidence, not as a data-quality note.
    expect(r.dataQuality.filter((n) => n.findingId === 'IMMUNO')).toEqual([]);
  });

  it('the same course for 60 days only is absent (the name feeds the same day count)', async () => {
    const r = await evaluate([request(rx('312617', 'predniSONE 5 MG Oral Tablet'), { authoredDaysAgo: 70, supplyDays: 60 })]);
    expect(r.findings.IMMUNO.state).toBe('absent');
  });

  it('a text-only medicationCodeableConcept (no coding) -> present, without a code', async () => {
    const r = await evaluate([statement({ text: 'Prednisolone 5mg/5ml oral solution' }, 200, 50)]);
    expect(r.findings.IMMUNO.state).toBe('present');
    const [ev] = steroidEvidence(r);
    expect(ev?.qualifiers).toEqual(expect.arrayContaining(['steroid-days:150', BY_NAME]));
    expect(ev?.display).toBe('Prednisolone 5mg/5ml oral solution (matched by ingredient name)');
    expect(ev?.code).toBeUndefined();
    expect(ev?.reference).toMatch(/^MedicationStatement\//);
  });

  it('names in another code system, in text beside a foreign coding, upper case, salts', async () => {
    const concepts: CodeableConcept[] = [
      { coding: [{ system: NDC, code: '0054-4728-25', display: 'methylPREDNISolone 4 MG Oral Tablet [Medrol]' }] },
      { coding: [{ system: NDC, code: '0000-0000-00' }], text: 'DEXAMETHASONE 4 MG ORAL TABLET' },
      rx('1000001', 'hydrocortisone sodium succinate 100 MG Injection'),
      { text: 'methylprednisolone' },
      { text: 'dexamethasone' },
      { text: 'hydrocortisone' },
    ];
    for (const concept of concepts) {
      const r = await evaluate([longCourse(concept)]);
      expect(r.findings.IMMUNO.state, JSON.stringify(concept)).toBe('present');
      expect(steroidEvidence(r)[0]?.qualifiers, JSON.stringify(concept)).toContain(BY_NAME);
    }
  });

  it('a medication in a contained Medication resource (medicationReference "#id") is named too', async () => {
    const m: MedicationRequest = {
      ...longCourse({}),
      contained: [{ resourceType: 'Medication', id: 'med1', code: { text: 'Prednisone 20 mg tablet' } }],
      medicationReference: { reference: '#med1' },
    };
    delete m.medicationCodeableConcept;
    expect((await evaluate([m])).findings.IMMUNO.state).toBe('present');
  });

  it('topical, inhaled, eye, ear, nasal and rectal forms are not systemic glucocorticoids', async () => {
    const concepts: CodeableConcept[] = [
      rx('1000002', 'Hydrocortisone 10 MG/ML Topical Cream'),
      { text: 'hydrocortisone 1% cream' },
      // The text names the ingredient alone, the display the form: the form excludes it.
      rx('1000003', 'Hydrocortisone 25 MG/ML Topical Ointment', 'hydrocortisone'),
      { text: 'Hydrocortisone acetate rectal foam' },
      { text: 'Prednisolone acetate 1% ophthalmic suspension' },
      { text: 'Prednisolone sodium phosphate 0.5% eye drops' },
      { text: 'Dexamethasone 0.1% otic solution' },
      { text: 'Dexamethasone nasal spray' },
      { text: 'Prednisolone 20 mg/100 ml enema' },
      { text: 'Hydrocortisone 25 mg suppository' },
      { text: 'hydrocortisone lotion' },
      { text: 'Hydrocortisone gel' },
      { text: 'Dexamethasone inhaler' },
    ];
    for (const concept of concepts) {
      const r = await evaluate([longCourse(concept)]);
      expect(r.findings.IMMUNO.state, JSON.stringify(concept)).toBe('absent');
    }
  });

  it('only whole words: a name inside another word is no match', async () => {
    for (const text of ['Cortisone acetate 25 mg tablet', 'Xprednisone 5 mg', 'prednisone2 5 mg', 'Dexamethasonex']) {
      expect((await evaluate([longCourse({ text })])).findings.IMMUNO.state, text).toBe('absent');
    }
  });

  it('coded matches keep precedence: an ingredient code is matched by code, not by name', async () => {
    const r = await evaluate([longCourse(rx('8640', undefined, 'predniSONE 5 MG Oral Tablet'))]);
    const [ev] = steroidEvidence(r);
    expect(r.findings.IMMUNO.state).toBe('present');
    expect(ev?.qualifiers).not.toContain(BY_NAME);
    expect(ev?.code).toMatchObject({ system: RXNORM, code: '8640' });
    expect(ev?.display).not.toMatch(/matched by ingredient name/);
  });

  it('one coded and one named medication are both counted, each once', async () => {
    const coded = request(rx('8640'), { authoredDaysAgo: 200, supplyDays: 60 });
    const named = request({ text: 'prednisone 5 mg tablet' }, { authoredDaysAgo: 100, supplyDays: 60 });
    const r = await evaluate([coded, named]);
    const ev = steroidEvidence(r);
    expect(ev.map((e) => e.qualifiers?.includes(BY_NAME) ?? false).sort()).toEqual([false, true]);
    expect(ev[0]?.qualifiers).toContain('steroid-days:120');
  });

  it('status and dates apply to a name match as to a code match', async () => {
    const cancelled = request(rx('312617', 'predniSONE 5 MG Oral Tablet'), { authoredDaysAgo: 130, supplyDays: 120, status: 'entered-in-error' });
    expect((await evaluate([cancelled])).findings.IMMUNO.state).toBe('absent');
    const undated: MedicationStatement = { ...statement({ text: 'predniSONE 5 MG Oral Tablet' }, 200, 50) };
    delete undated.effectivePeriod;
    const r = await evaluate([undated]);
    expect(r.findings.IMMUNO.state).toBe('unknown');
    expect(r.dataQuality.some((n) => n.findingId === 'IMMUNO' && /predniSONE 5 MG Oral Tablet has no start date/.test(n.message))).toBe(true);
  });

  it('a code the value set excludes is not brought back by its name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mappings-names-'));
    try {
      await cp(MAPPINGS_DIR, dir, { recursive: true });
      const file = path.join(dir, 'valuesets', 'systemic-glucocorticoids.json');
      const vs = JSON.parse(await readFile(file, 'utf8')) as { compose: { exclude?: unknown[] } };
      vs.compose.exclude = [{ system: RXNORM, concept: [{ code: '1000004', display: 'test: a prednisone product excluded on purpose' }] }];
      await writeFile(file, JSON.stringify(vs));
      const mappings = await loadMappings(dir);
      const run = (code: string): string => evaluateFindings(mappings, recordOf([longCourse(rx(code, 'predniSONE 5 MG Oral Tablet'))]), NOW).findings.IMMUNO.state;
      expect(run('1000004')).toBe('absent');
      expect(run('1000005')).toBe('present');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TRIAL: NSAIDs by clinical-drug code and by name', () => {
  const onset = (): FhirResource => condition({ code: 'M54.50', onset: daysAgo(30) });

  for (const [code, display] of [
    ['206905', 'Ibuprofen 400 MG Oral Tablet [Ibu]'],
    ['198405', 'Ibuprofen 100 MG Oral Tablet'],
    ['310965', 'Ibuprofen 200 MG Oral Tablet'],
    ['849574', 'Naproxen sodium 220 MG Oral Tablet'],
  ] as const) {
    it(`RxNorm ${code} (${display}) is in the value set: TRIAL present by code, with the nsaid qualifier`, async () => {
      const m = medicationRequest({ code, authoredOn: daysAgo(10) });
      const r = await evaluate([onset(), m]);
      expect(r.findings.TRIAL.state).toBe('present');
      const [ev] = r.findings.TRIAL.evidence;
      expect(ev?.qualifiers).toEqual(['nsaid']);
      expect(ev?.code).toEqual({ system: RXNORM, code, display });
    });
  }

  it('an NSAID product not in the value set is found by name, with nsaid and matched-by-name', async () => {
    const m = request(rx('1000006', 'Naproxen 500 MG Oral Tablet'), { authoredDaysAgo: 10, status: 'active' });
    const r = await evaluate([onset(), m]);
    expect(r.findings.TRIAL.state).toBe('present');
    expect(r.findings.TRIAL.evidence[0]?.qualifiers).toEqual(['nsaid', BY_NAME]);
    expect(r.findings.TRIAL.evidence[0]?.display).toBe('Naproxen 500 MG Oral Tablet (matched by ingredient name)');
  });

  it('the NSAID class, not only ibuprofen and naproxen: diclofenac, celecoxib, meloxicam by name; aspirin is not a trial', async () => {
    const stmt = (text: string): MedicationStatement => ({ ...statement({ text }, 10, 2), status: 'active' });
    for (const text of ['Diclofenac sodium 75 MG Delayed Release Oral Tablet', 'celecoxib 200 MG Oral Capsule', 'Meloxicam 15 MG Oral Tablet']) {
      expect((await evaluate([onset(), stmt(text)])).findings.TRIAL.state, text).toBe('present');
    }
    expect((await evaluate([onset(), stmt('Aspirin 81 MG Oral Tablet')])).findings.TRIAL.state).toBe('absent');
  });

  it('a text-only NSAID statement is found by name; another drug is not', async () => {
    const stmt = (text: string): MedicationStatement => ({ ...statement({ text }, 10, 2), status: 'active' });
    expect((await evaluate([onset(), stmt('ibuprofen 400mg tablets')])).findings.TRIAL.state).toBe('present');
    expect((await evaluate([onset(), stmt('paracetamol 500mg tablets')])).findings.TRIAL.state).toBe('absent');
  });

  describe('real data (Synthea bulk fixture)', () => {
    const run = evaluateExternal;

    it('ca15b832: Ibuprofen 400 MG Oral Tablet [Ibu] 206905 (2022-03-30) -> TRIAL present by code', async () => {
      const r = await run('ca15b832-01e4-41dd-6a52-97bd3e5510cb', '2022-04-15T00:00:00Z');
      expect(r.findings.TRIAL.state).toBe('present');
      expect(r.findings.TRIAL.evidence.some((e) => e.code?.code === '206905' && e.qualifiers?.includes('nsaid') && !e.qualifiers.includes(BY_NAME))).toBe(true);
    });

    it('cbc86e51: Ibuprofen 200 MG Oral Tablet 310965 (2018-08-11) -> TRIAL present by code', async () => {
      const r = await run('cbc86e51-9eca-3855-76ec-c058f72c5761', '2018-08-20T00:00:00Z');
      expect(r.findings.TRIAL.state).toBe('present');
      expect(r.findings.TRIAL.evidence.some((e) => e.code?.code === '310965')).toBe(true);
    });
  });
});

describe('the name-match extension is checked at load', () => {
  let dir: string;
  const file = (): string => path.join(dir, 'valuesets', 'systemic-glucocorticoids.json');
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mappings-names-'));
    await cp(MAPPINGS_DIR, dir, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  type Ext = { url: string; valueString?: string; extension?: { url: string; valueString?: string }[] };
  const editExtension = async (fn: (ext: Ext[]) => void): Promise<void> => {
    const vs = JSON.parse(await readFile(file(), 'utf8')) as { extension: Ext[] };
    fn(vs.extension);
    await writeFile(file(), JSON.stringify(vs, null, 2));
  };
  const failure = async (): Promise<MappingLoadError> => {
    const e = await expectLoadFailure(dir);
    expect(e.file).toMatch(/valuesets\/systemic-glucocorticoids\.json$/);
    return e;
  };
  const parts = (ext: Ext[]): { url: string; valueString?: string }[] => ext[0]?.extension ?? [];

  it('a name with a wildcard or punctuation', async () => {
    await editExtension((ext) => {
      const p = parts(ext)[1];
      if (p) p.valueString = 'predni*';
    });
    const e = await failure();
    expect(e.field).toBe('extension[0].extension[1].valueString');
    expect(e.reason).toMatch(/a name is words/);
  });

  it('no provenance', async () => {
    await editExtension((ext) => {
      const kept = parts(ext).filter((p) => p.url !== 'provenance');
      if (ext[0]) ext[0].extension = kept;
    });
    const e = await failure();
    expect(e.field).toBe('extension[0].extension');
    expect(e.reason).toMatch(/provenance/);
  });

  it('no name', async () => {
    await editExtension((ext) => {
      if (ext[0]) ext[0].extension = parts(ext).filter((p) => p.url !== 'name');
    });
    const e = await failure();
    expect(e.field).toBe('extension[0].extension');
    expect(e.reason).toMatch(/at least one name/);
  });

  it('a part with an unknown url, or without a valueString', async () => {
    await editExtension((ext) => {
      const p = parts(ext)[0];
      if (p) p.url = 'nmae';
    });
    const unknown = await failure();
    expect(unknown.field).toBe('extension[0].extension[0].url');
    expect(unknown.reason).toMatch(/"name", "exclude-word" or "provenance"/);
    await editExtension((ext) => {
      const p = parts(ext)[0];
      if (p) {
        p.url = 'exclude-word';
        delete p.valueString;
      }
    });
    const noValue = await failure();
    expect(noValue.field).toBe('extension[0].extension[0].valueString');
  });

  it('a value beside the nested extensions (FHIR ext-1)', async () => {
    await editExtension((ext) => {
      if (ext[0]) ext[0].valueString = 'prednisone';
    });
    const e = await failure();
    expect(e.field).toMatch(/^extension\[0\]/);
  });

  it('a mistyped spine-cds extension url cannot silently switch the fallback off', async () => {
    await editExtension((ext) => {
      if (ext[0]) ext[0].url = 'http://spine-cds.local/fhir/StructureDefinition/name-matc';
    });
    const e = await failure();
    expect(e.field).toBe('extension[0].url');
    expect(e.reason).toMatch(/unknown extension/);
  });

  it('the same name twice', async () => {
    await editExtension((ext) => {
      parts(ext).push({ url: 'name', valueString: 'PREDNISONE' });
    });
    const e = await failure();
    expect(e.reason).toMatch(/listed twice/);
  });
});
