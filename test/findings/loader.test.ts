import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { OBSERVATION_LOINC } from '../../hooks/prefetch.js';
import { FINDING_IDS, loadMappings, observationCodes, type MappingLoadError } from '../../src/findings/index.js';
import { MAPPINGS_DIR, expectLoadFailure, useMappingsCopy } from './support.js';

describe('shipped mappings', () => {
  it('every file in mappings/valuesets and mappings/findings loads, and every finding of the spec is defined', async () => {
    const m = await loadMappings(MAPPINGS_DIR);
    expect(m.definitions.map((d) => d.id).sort()).toEqual([...FINDING_IDS].sort());
    for (const d of m.definitions) expect(d.sources.length).toBeGreaterThan(0);
  });

  it('orders derived findings after the findings they read', async () => {
    const ids = (await loadMappings(MAPPINGS_DIR)).definitions.map((d) => d.id);
    expect(ids.indexOf('BILAT')).toBeGreaterThan(ids.indexOf('LEG'));
    for (const dep of ['LBP', 'LEG', 'ARM'] as const) expect(ids.indexOf('TRIAL')).toBeGreaterThan(ids.indexOf(dep));
  });

  it('hooks/prefetch.ts OBSERVATION_LOINC covers every Observation code the mappings read', async () => {
    const codes = observationCodes(await loadMappings(MAPPINGS_DIR));
    expect(codes.length).toBeGreaterThan(0);
    for (const c of codes) {
      expect(c.system).toBe('http://loinc.org');
      expect(OBSERVATION_LOINC as readonly string[]).toContain(c.code);
    }
  });
});

describe('a broken mapping file stops loading and names file, field and reason', () => {
  const copy = useMappingsCopy();
  let dir = '';
  beforeEach(() => {
    dir = copy.dir();
  });

  const edit = async (rel: string, fn: (text: string) => string): Promise<void> => {
    const file = path.join(dir, rel);
    await writeFile(file, fn(await readFile(file, 'utf8')));
  };
  const failure = (): Promise<MappingLoadError> => expectLoadFailure(dir);

  it('invalid YAML', async () => {
    await edit('findings/fever.yaml', (t) => `${t}\n  - : [unclosed\n`);
    const e = await failure();
    expect(e.file).toMatch(/findings\/fever\.yaml$/);
    expect(e.field).toBe('(file)');
  });

  it('a FHIRPath expression that does not compile', async () => {
    await edit('findings/esr.yaml', (t) => t.replace('"value.ofType(Quantity)"', '"value.ofType(Quantity"'));
    const e = await failure();
    expect(e.file).toMatch(/esr\.yaml$/);
    expect(e.field).toBe('criteria[0].value.expression');
    expect(e.reason).toMatch(/FHIRPath/);
  });

  it('a value set reference that does not resolve', async () => {
    await edit('findings/ces.yaml', (t) => t.replace('valueSet: cauda-equina', 'valueSet: cauda-equina-typo'));
    const e = await failure();
    expect(e.field).toBe('criteria[0].valueSet');
    expect(e.reason).toMatch(/cauda-equina-typo/);
  });

  it('a unit that is not UCUM', async () => {
    await edit('findings/fever.yaml', (t) => t.replace('unit: Cel', 'unit: degrees'));
    const e = await failure();
    expect(e.field).toBe('criteria[0].value.unit');
  });

  it('a schema violation (unknown window field)', async () => {
    await edit('findings/uret.yaml', (t) => t.replace('lookbackDays: 30', 'lookbackDayz: 30'));
    const e = await failure();
    expect(e.file).toMatch(/uret\.yaml$/);
    expect(e.field).toMatch(/^criteria\[0\]\.window/);
  });

  it('a missing finding', async () => {
    await rm(path.join(dir, 'findings', 'saddle.yaml'));
    const e = await failure();
    expect(e.reason).toMatch(/SADDLE/);
  });

  it('a duplicate finding id', async () => {
    await cp(path.join(dir, 'findings', 'ces.yaml'), path.join(dir, 'findings', 'ces-copy.yaml'));
    const e = await failure();
    expect(e.field).toBe('id');
  });

  it('an ICD-10-CM code written without its dot', async () => {
    await edit('valuesets/cauda-equina.json', (t) => t.replace('"code": "G83.4"', '"code": "G834"'));
    const e = await failure();
    expect(e.file).toMatch(/cauda-equina\.json$/);
    expect(e.field).toBe('compose.include[0].concept[0].code');
  });

  it('a code that does not say where it came from', async () => {
    await edit('valuesets/esr.json', (t) => {
      const vs = JSON.parse(t) as { compose: { include: { concept: { extension?: unknown }[] }[] } };
      delete vs.compose.include[0]?.concept[0]?.extension;
      return JSON.stringify(vs);
    });
    const e = await failure();
    expect(e.field).toBe('compose.include[0].concept[0].extension');
  });

  it('a SNOMED CT filter (needs a terminology server)', async () => {
    await edit('valuesets/cancer.json', (t) => {
      const vs = JSON.parse(t) as { compose: { include: unknown[] } };
      vs.compose.include.push({ system: 'http://snomed.info/sct', extension: [{ url: 'http://spine-cds.local/fhir/StructureDefinition/code-provenance', valueString: 'x' }], filter: [{ property: 'concept', op: 'is-a', value: '363346000' }] });
      return JSON.stringify(vs);
    });
    const e = await failure();
    expect(e.reason).toMatch(/terminology server/);
  });

  it('a terminology team can add a code by editing the value set file alone', async () => {
    await edit('valuesets/cauda-equina.json', (t) => {
      const vs = JSON.parse(t) as { compose: { include: unknown[] } };
      vs.compose.include.push({ system: 'http://example.org/local-codes', concept: [{ code: 'CES-1', display: 'Cauda equina (local)', extension: [{ url: 'http://spine-cds.local/fhir/StructureDefinition/code-provenance', valueString: 'local code list 2026' }] }] });
      return JSON.stringify(vs);
    });
    const m = await loadMappings(dir);
    expect(m.valueSets.get('cauda-equina')?.lookup('http://example.org/local-codes', 'CES-1')).toBeDefined();
  });

  it('an official expansion (expansion.contains) is read as members', async () => {
    await edit('valuesets/systemic-glucocorticoids.json', (t) => {
      const vs = JSON.parse(t) as Record<string, unknown>;
      vs.expansion = { contains: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '999999', display: 'test clinical drug' }] };
      return JSON.stringify(vs);
    });
    const m = await loadMappings(dir);
    expect(m.valueSets.get('systemic-glucocorticoids')?.lookup('http://www.nlm.nih.gov/research/umls/rxnorm', '999999')).toBeDefined();
  });
});
