import type { AllergyIntolerance, Condition, Immunization, Observation } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { stu3ResourceToR4, TERMINOLOGY } from '../../kit/fhir/stu3-to-r4.js';

describe('STU3 -> R4 conversion (kit/fhir/stu3-to-r4)', () => {
  it('turns Condition status codes into R4 CodeableConcepts and renames STU3 fields', () => {
    const stu3 = {
      resourceType: 'Condition',
      id: 'c1',
      clinicalStatus: 'active',
      verificationStatus: 'confirmed',
      assertedDate: '2012-03-02',
      context: { reference: 'Encounter/e1' },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '279039007' }] },
      subject: { reference: 'Patient/p1' },
    };
    const r4 = stu3ResourceToR4(stu3) as Condition;
    expect(r4.clinicalStatus).toEqual({ coding: [{ system: `${TERMINOLOGY}/condition-clinical`, code: 'active' }] });
    expect(r4.verificationStatus).toEqual({ coding: [{ system: `${TERMINOLOGY}/condition-ver-status`, code: 'confirmed' }] });
    expect(r4.recordedDate).toBe('2012-03-02');
    expect(r4.encounter).toEqual({ reference: 'Encounter/e1' });
    expect(r4).not.toHaveProperty('assertedDate');
    expect(r4).not.toHaveProperty('context');
    // The input is left as it was.
    expect(stu3.clinicalStatus).toBe('active');
  });

  it('maps the STU3-only verification status `unknown` to R4 `unconfirmed`', () => {
    const r4 = stu3ResourceToR4({ resourceType: 'Condition', clinicalStatus: 'resolved', verificationStatus: 'unknown' }) as Condition;
    expect(r4.verificationStatus?.coding?.[0]?.code).toBe('unconfirmed');
    expect(r4.clinicalStatus?.coding?.[0]?.code).toBe('resolved');
  });

  it('converts AllergyIntolerance statuses and assertedDate', () => {
    const r4 = stu3ResourceToR4({
      resourceType: 'AllergyIntolerance',
      clinicalStatus: 'active',
      verificationStatus: 'unconfirmed',
      assertedDate: '2000',
      patient: { reference: 'Patient/p1' },
    }) as AllergyIntolerance;
    expect(r4.clinicalStatus?.coding?.[0]).toEqual({ system: `${TERMINOLOGY}/allergyintolerance-clinical`, code: 'active' });
    expect(r4.verificationStatus?.coding?.[0]).toEqual({ system: `${TERMINOLOGY}/allergyintolerance-verification`, code: 'unconfirmed' });
    expect(r4.recordedDate).toBe('2000');
  });

  it('moves Observation.context to encounter and rewrites the category system', () => {
    const r4 = stu3ResourceToR4({
      resourceType: 'Observation',
      status: 'final',
      context: { reference: 'Encounter/e2' },
      category: [{ coding: [{ system: 'http://hl7.org/fhir/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
    }) as Observation;
    expect(r4.encounter).toEqual({ reference: 'Encounter/e2' });
    expect(r4.category?.[0]?.coding?.[0]).toEqual({ system: `${TERMINOLOGY}/observation-category`, code: 'vital-signs' });
  });

  it('converts Immunization date and notGiven', () => {
    const given = stu3ResourceToR4({ resourceType: 'Immunization', status: 'completed', date: '2011-07-12', notGiven: false }) as Immunization;
    expect(given.occurrenceDateTime).toBe('2011-07-12');
    expect(given.status).toBe('completed');
    expect(given).not.toHaveProperty('notGiven');
    const notGiven = stu3ResourceToR4({ resourceType: 'Immunization', status: 'completed', date: '2011', notGiven: true }) as Immunization;
    expect(notGiven.status).toBe('not-done');
  });

  it('leaves R4-shaped resources unchanged (safe to apply twice)', () => {
    const r4: Condition = {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: `${TERMINOLOGY}/condition-clinical`, code: 'active' }] },
      subject: { reference: 'Patient/p1' },
    };
    expect(stu3ResourceToR4(r4)).toEqual(r4);
    expect(stu3ResourceToR4(stu3ResourceToR4({ resourceType: 'Condition', clinicalStatus: 'active', subject: { reference: 'Patient/p' } }))).toEqual(
      stu3ResourceToR4({ resourceType: 'Condition', clinicalStatus: 'active', subject: { reference: 'Patient/p' } }),
    );
  });
});
