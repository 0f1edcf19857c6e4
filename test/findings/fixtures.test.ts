import { beforeAll, describe, expect, it } from 'vitest';
import { loadExternalPatients, type ExternalPatient } from '../../kit/fixtures/external.js';
import { recordFromResources } from '../../src/data/record-builder.js';
import { evaluateFindings, FINDING_IDS, type FindingsResult, type MappingSet } from '../../src/findings/index.js';
import { shippedMappings } from './support.js';

/**
 * The real public fixtures (test/fixtures/external; STU3 converted by the kit loader). Their data
 * is from 2008-2020, so `now` is chosen per case to put the relevant data inside or outside windows.
 */

let mappings: MappingSet;
let patients: Map<string, ExternalPatient>;
beforeAll(async () => {
  mappings = await shippedMappings();
  patients = new Map((await loadExternalPatients()).map((p) => [p.id, p]));
});

function run(id: string, now: string): FindingsResult {
  const p = patients.get(id);
  if (!p) throw new Error(`fixture patient ${id} not found`);
  return evaluateFindings(mappings, recordFromResources(p.resources, p.id), new Date(now));
}

describe('real fixtures', () => {
  it('every patient evaluates without throwing, at several evaluation times', () => {
    expect(patients.size).toBeGreaterThan(10);
    for (const p of patients.values()) {
      for (const now of ['2009-08-20T00:00:00Z', '2014-08-15T00:00:00Z', '2026-06-15T00:00:00Z']) {
        const r = evaluateFindings(mappings, recordFromResources(p.resources, p.id), new Date(now));
        for (const id of FINDING_IDS) expect(r.findings[id].note ?? '').not.toMatch(/^Could not be evaluated/);
      }
    }
  });

  it('smart-981968: low back pain SNOMED 279039007 -> LBP present with its onset', () => {
    const r = run('smart-981968', '2008-12-01T00:00:00Z');
    expect(r.findings.LBP.state).toBe('present');
    expect(r.findings.LBP.evidence[0]?.code).toMatchObject({ system: 'http://snomed.info/sct', code: '279039007' });
    expect(r.findings.LBP.onset).toBe('2008-11-09');
  });

  it('smart-981968: before the onset of back pain, LBP is absent', () => {
    expect(run('smart-981968', '2008-01-01T00:00:00Z').findings.LBP.state).toBe('absent');
  });

  for (const id of ['smart-1520204', 'smart-765583']) {
    it(`${id}: backache 161891005 -> LBP present`, () => {
      const r = run(id, '2012-03-15T00:00:00Z');
      expect(r.findings.LBP.state).toBe('present');
      expect(r.findings.LBP.evidence.some((e) => e.code?.code === '161891005')).toBe(true);
    });
  }

  it('smart-8888804: ESR 4 mm/h (2014-07-29, status "unknown") is never raised, and the skipped status is noted', () => {
    const r = run('smart-8888804', '2014-08-15T00:00:00Z');
    expect(r.findings.ESR.state).not.toBe('present');
    expect(r.dataQuality.some((n) => n.findingId === 'ESR' && /status "unknown"/.test(n.message))).toBe(true);
  });

  it('Patient/355: temperatures without a value or date give data-quality notes, not a crash', () => {
    const r = run('355', '2009-08-21T00:00:00Z');
    const fever = r.dataQuality.filter((n) => n.findingId === 'FEVER');
    expect(fever.some((n) => /no value/.test(n.message))).toBe(true);
    // 37.8 Cel on 2009-08-19 (the undated one falls back to issued): measured, not raised.
    expect(r.findings.FEVER.state).toBe('absent');
  });

  for (const id of ['ca15b832-01e4-41dd-6a52-97bd3e5510cb', 'fb7c882a-f897-e7c5-67e0-825e7fd55d15']) {
    it(`Synthea bulk ${id}: chronic low back pain 278860009 -> LBP present`, () => {
      const r = run(id, '2026-06-15T00:00:00Z');
      expect(r.findings.LBP.state).toBe('present');
      expect(r.findings.LBP.evidence.some((e) => e.code?.code === '278860009')).toBe(true);
    });
  }

  it('Synthea patients without back pain have no LBP, LEG or ARM', () => {
    for (const p of patients.values()) {
      if (p.source !== 'synthea-bundle') continue;
      const r = run(p.id, '2026-06-15T00:00:00Z');
      for (const id of ['LBP', 'LEG', 'ARM', 'CES', 'MYELO'] as const) expect(r.findings[id].state).toBe('absent');
    }
  });
});
