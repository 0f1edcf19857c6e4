import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadExternalPatients } from '../../kit/fixtures/external.js';
import { compileExpression, engineExpression, parseSimplePath } from '../../src/findings/fhirpath.js';
import { type MappingSet } from '../../src/findings/index.js';
import { shippedMappings } from './support.js';

/**
 * The direct property walk used for plain member paths must give exactly what fhirpath.js gives, for
 * every expression the mappings ship, on every real fixture resource and on generated resources.
 */

let mappings: MappingSet;
beforeAll(async () => {
  mappings = await shippedMappings();
});

const same = (source: string, resource: unknown): void => {
  const compiled = compileExpression(source);
  const engine = engineExpression(source)(resource);
  const where = `${source} on ${JSON.stringify(resource).slice(0, 200)}`;
  expect(JSON.stringify(compiled(resource)), where).toBe(JSON.stringify(engine));
  expect(JSON.stringify(compiled.first(resource)), `first of ${where}`).toBe(JSON.stringify(engine[0]));
};

describe('FHIRPath fast path', () => {
  it('covers most shipped expressions (otherwise it is pointless)', () => {
    const sources = [...mappings.expressions.keys()];
    const simple = sources.filter((s) => parseSimplePath(s));
    expect(simple.length).toBeGreaterThan(sources.length / 2);
  });

  it('agrees with fhirpath.js on the real fixture resources (every 4th, to keep the run short)', async () => {
    const sources = [...mappings.expressions.keys()];
    const read = new Set(['Patient', 'Condition', 'Observation', 'MedicationRequest', 'MedicationStatement', 'ServiceRequest', 'Procedure']);
    const resources = (await loadExternalPatients()).flatMap((p) => p.resources).filter((r, i) => read.has(r.resourceType) && i % 4 === 0);
    expect(resources.length).toBeGreaterThan(500);
    for (const r of resources) for (const s of sources) same(s, r);
  });

  it('agrees with fhirpath.js on generated resources (choice types, arrays, nulls, wrong types, extensions)', () => {
    const sources = [...mappings.expressions.keys()];
    // Wrong types and nulls everywhere, but no array directly inside an array (not JSON any FHIR
    // parser accepts; fhirpath.js itself treats it inconsistently).
    const scalarJunk = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant({}));
    const junk = fc.oneof(scalarJunk, fc.constant([]));
    const date = fc.oneof(fc.constantFrom('2026-01-02', '2026-01-02T03:04:05Z', '2026'), junk);
    const coding = fc.record({ system: fc.constantFrom('http://snomed.info/sct', 'http://loinc.org'), code: fc.constantFrom('1', '2') }, { requiredKeys: [] });
    const ccRecord = fc.record({ coding: fc.oneof(fc.array(fc.oneof(coding, scalarJunk), { maxLength: 3 }), coding, junk), text: fc.string({ maxLength: 4 }) }, { requiredKeys: [] });
    const cc = fc.oneof(ccRecord, junk);
    const ccList = fc.oneof(fc.array(fc.oneof(ccRecord, scalarJunk), { maxLength: 2 }), cc);
    const period = fc.oneof(fc.record({ start: date, end: date }, { requiredKeys: [] }), junk);
    const quantity = fc.oneof(fc.record({ value: fc.oneof(fc.double({ noNaN: true }), fc.integer()), code: fc.constantFrom('Cel', 'kg'), system: fc.constant('http://unitsofmeasure.org') }, { requiredKeys: [] }), junk);
    const resource = fc.record(
      {
        resourceType: fc.constantFrom('Observation', 'Condition', 'MedicationRequest', 'MedicationStatement', 'ServiceRequest', 'Procedure', 'Patient'),
        id: fc.string({ maxLength: 4 }),
        code: cc,
        bodySite: ccList,
        interpretation: ccList,
        effectiveDateTime: date,
        effectivePeriod: period,
        effectiveInstant: date,
        issued: date,
        onsetDateTime: date,
        onsetPeriod: period,
        onsetString: fc.string({ maxLength: 4 }),
        recordedDate: date,
        _recordedDate: fc.constant({ extension: [{ url: 'http://example.org/x', valueString: 'y' }] }),
        valueQuantity: quantity,
        valueInteger: fc.oneof(fc.integer(), junk),
        authoredOn: date,
        occurrenceDateTime: date,
        performedDateTime: date,
        performedPeriod: period,
        dateAsserted: date,
        birthDate: date,
        dispenseRequest: fc.oneof(fc.record({ validityPeriod: period, expectedSupplyDuration: quantity, numberOfRepeatsAllowed: fc.oneof(fc.integer(), junk) }, { requiredKeys: [] }), junk),
      },
      { requiredKeys: ['resourceType'] },
    );
    fc.assert(
      fc.property(resource, (r) => {
        for (const s of sources) same(s, r);
      }),
      { numRuns: 500 },
    );
  });
});
