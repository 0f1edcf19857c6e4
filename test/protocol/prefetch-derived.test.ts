import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedObservationLoinc, SPINE_PREFETCH } from '../../hooks/prefetch.js';
import { loadRuleKnowledge } from '../../hooks/rules/knowledge.js';
import { loadMappings, observationCodes } from '../../src/findings/index.js';
import { DEFAULT_RULE_SETTINGS } from '../../hooks/settings.js';
import { SPINE_CDS } from '../../hooks/index.js';
import { KnowledgeFileError } from '../../src/knowledge/knowledge-file-error.js';
import { defaultMappingsDir, loadKnowledge } from '../../src/knowledge/knowledge.js';

/**
 * The Observation search in the prefetch template is derived from the knowledge: the LOINC codes of
 * the value sets the Observation findings read, and the result codes of the lab orders the duplicate
 * check looks for. Here the knowledge is loaded the way the service loads it at startup (full
 * loaders, FHIRPath compiled) and compared with the query an EHR reads in discovery.
 */
const LOINC = 'http://loinc.org';
const MAPPINGS_DIR = defaultMappingsDir();

function templateCodes(): string[] {
  const observations = SPINE_PREFETCH.find((t) => t.key === 'observations');
  if (!observations) throw new Error('no observations template');
  const code = new URLSearchParams(observations.query.split('?')[1]).get('code') ?? '';
  return code.split(',');
}

describe('the Observation prefetch is derived from the value sets', () => {
  it('asks for every LOINC code of the value sets the Observation findings read, and for nothing else but lab results', async () => {
    const readByFindings = observationCodes(await loadMappings(MAPPINGS_DIR)).map((c) => `${c.system}|${c.code}`);
    const knowledge = await loadRuleKnowledge(MAPPINGS_DIR);
    const labResults = [...knowledge.orders.values()]
      .filter((o) => o.kind === 'lab')
      .flatMap((o) => o.resultCodes ?? [])
      .map((c) => `${c.system}|${c.code}`);

    expect(readByFindings.length).toBeGreaterThan(10);
    const asked = templateCodes();
    for (const code of readByFindings) expect(asked, `${code} is read by a finding`).toContain(code);
    for (const code of asked) expect([...readByFindings, ...labResults], `${code} is asked for`).toContain(code);
    expect(new Set(asked).size).toBe(asked.length);
    // The CBC panels are read by the duplicate-order check only, not by a finding.
    expect(asked).toContain(`${LOINC}|58410-2`);
  });

  describe('a code added to or removed from a value set', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'prefetch-derived-'));
      await cp(MAPPINGS_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('.md') });
      const file = path.join(dir, 'valuesets', 'body-temperature.json');
      const vs = JSON.parse(await readFile(file, 'utf8')) as { compose: { include: { system?: string; concept?: { code: string }[] }[] } };
      const loinc = vs.compose.include.find((i) => i.system === LOINC);
      if (!loinc?.concept) throw new Error('body-temperature lists no LOINC codes');
      // 8310-5 (body temperature) out; 99999-9 (a made-up code, with the provenance the loader demands) in.
      loinc.concept = loinc.concept.filter((c) => c.code !== '8310-5');
      loinc.concept.push({
        code: '99999-9',
        display: 'Test temperature',
        extension: [{ url: 'http://spine-cds.local/fhir/StructureDefinition/code-provenance', valueString: 'made up for this test' }],
      } as { code: string });
      await writeFile(file, JSON.stringify(vs));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('changes the search with it', () => {
      const shipped = derivedObservationLoinc(MAPPINGS_DIR);
      const edited = derivedObservationLoinc(dir);
      expect(shipped).toContain('8310-5');
      expect(edited).not.toContain('8310-5');
      expect(edited).toContain('99999-9');
    });
  });
});

describe('knowledge loaded from another folder (MAPPINGS_DIR)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'prefetch-elsewhere-'));
    await cp(MAPPINGS_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('.md') });
    const file = path.join(dir, 'valuesets', 'crp.json');
    const vs = JSON.parse(await readFile(file, 'utf8')) as { compose: { include: { system?: string; concept?: unknown[] }[] } };
    vs.compose.include
      .find((i) => i.system === LOINC)
      ?.concept?.push({
        code: '99998-1',
        display: 'Test CRP',
        extension: [{ url: 'http://spine-cds.local/fhir/StructureDefinition/code-provenance', valueString: 'made up for this test' }],
      });
    await writeFile(file, JSON.stringify(vs));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start when its findings read a LOINC code the derived search does not ask for', async () => {
    const err: unknown = await loadKnowledge(dir, SPINE_CDS, DEFAULT_RULE_SETTINGS).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KnowledgeFileError);
    expect((err as KnowledgeFileError).file).toMatch(/\/valuesets\/crp\.json$/);
    expect((err as KnowledgeFileError).reason).toContain('99998-1');
  });

  it('starts with the shipped knowledge', async () => {
    await expect(loadKnowledge(MAPPINGS_DIR, SPINE_CDS, DEFAULT_RULE_SETTINGS)).resolves.toBeDefined();
  });
});
