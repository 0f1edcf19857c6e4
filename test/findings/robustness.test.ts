import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateFindings, FINDING_IDS, type MappingSet } from '../../src/findings/index.js';
import type { PatientRecord } from '../../src/data/record.js';
import { ICD, LOINC, NOW, SCT, shippedMappings } from './support.js';

/** evaluateFindings never throws, whatever the shape of the data. */

let mappings: MappingSet;
beforeAll(async () => {
  mappings = await shippedMappings();
});

const junk = fc.oneof(fc.constant(null), fc.constant(undefined), fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const date = fc.oneof(fc.constantFrom('2026-06-14', '2026-06', '2026', '2026-06-14T10:00:00Z', '2026-02-31', 'yesterday', ''), junk);
const coding = fc.record({ system: fc.oneof(fc.constantFrom(ICD, SCT, LOINC), junk), code: fc.oneof(fc.constantFrom('M54.50', 'G83.4', 'R33.9', '8310-5', '1988-5', '29463-7', '72514-3', 'C50.9', 'M5450'), junk) }, { requiredKeys: [] });
const codeable = fc.oneof(fc.record({ coding: fc.oneof(fc.array(coding, { maxLength: 3 }), junk), text: fc.oneof(fc.string(), junk) }, { requiredKeys: [] }), junk);
const quantity = fc.oneof(fc.record({ value: fc.oneof(fc.double(), fc.integer(), junk), code: fc.oneof(fc.constantFrom('Cel', '[degF]', 'mg/dL', 'kg', '[lb_av]', 'mm/h', 'furlong', '%'), junk), system: fc.oneof(fc.constant('http://unitsofmeasure.org'), junk) }, { requiredKeys: [] }), junk);

const conditionArb = fc.record(
  { resourceType: fc.constant('Condition'), id: fc.oneof(fc.string(), junk), code: codeable, clinicalStatus: fc.oneof(codeable, fc.constantFrom('active', 'resolved')), verificationStatus: codeable, onsetDateTime: date, recordedDate: date, bodySite: fc.oneof(fc.array(codeable, { maxLength: 2 }), junk) },
  { requiredKeys: ['resourceType'] },
);
const observationArb = fc.record(
  { resourceType: fc.constant('Observation'), id: fc.oneof(fc.string(), junk), status: fc.oneof(fc.constantFrom('final', 'preliminary', 'entered-in-error'), junk), code: codeable, valueQuantity: quantity, valueInteger: junk, effectiveDateTime: date, issued: date, interpretation: fc.oneof(fc.array(codeable, { maxLength: 2 }), junk) },
  { requiredKeys: ['resourceType'] },
);
const medArb = fc.record(
  { resourceType: fc.constant('MedicationRequest'), id: fc.oneof(fc.string(), junk), status: fc.oneof(fc.constantFrom('active', 'completed'), junk), medicationCodeableConcept: codeable, authoredOn: date, dispenseRequest: fc.oneof(fc.record({ expectedSupplyDuration: quantity, numberOfRepeatsAllowed: fc.oneof(fc.integer(), junk) }, { requiredKeys: [] }), junk) },
  { requiredKeys: ['resourceType'] },
);
const listOf = <T>(arb: fc.Arbitrary<T>) => fc.oneof(fc.array(arb, { maxLength: 4 }), junk);
const recordArb = fc.record({
  patient: fc.oneof(fc.record({ resourceType: fc.constant('Patient'), birthDate: date }, { requiredKeys: [] }), junk),
  conditions: listOf(conditionArb),
  observations: listOf(observationArb),
  medicationStatements: listOf(junk),
  medicationRequests: listOf(medArb),
  serviceRequests: listOf(junk),
  procedures: listOf(junk),
  gaps: fc.oneof(fc.array(fc.record({ key: fc.constantFrom('procedures', 'medicationRequests', 'nonsense'), reason: fc.string() }), { maxLength: 2 }), junk),
});

describe('evaluateFindings on any input shape', () => {
  it('never throws and always answers every finding with a valid state', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const r = evaluateFindings(mappings, record as unknown as PatientRecord, NOW);
        for (const id of FINDING_IDS) {
          expect(['present', 'absent', 'unknown']).toContain(r.findings[id].state);
          if (r.findings[id].state === 'present') expect(r.findings[id].evidence.length).toBeGreaterThan(0);
          // The per-finding safety net must not be what kept it alive: garbage is handled on purpose.
          expect(r.findings[id].note ?? '').not.toMatch(/^Could not be evaluated/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('survives a record that is not an object and an invalid date', () => {
    for (const bad of [null, undefined, 42, 'x', []]) {
      expect(() => evaluateFindings(mappings, bad as unknown as PatientRecord, new Date('invalid'))).not.toThrow();
    }
  });

  it('a gap in optional data makes the findings that read it unknown rather than absent', () => {
    const record = { patient: undefined, conditions: [], observations: [], medicationStatements: [], medicationRequests: [], serviceRequests: [], procedures: [], diagnosticReports: [], imagingStudies: [], gaps: [{ key: 'medicationRequests', reason: 'timeout' }] } as PatientRecord;
    const r = evaluateFindings(mappings, record, NOW);
    expect(r.findings.TRIAL.state).toBe('unknown');
    expect(r.findings.IMMUNO.state).toBe('unknown');
    expect(r.findings.CES.state).toBe('absent');
  });
});
