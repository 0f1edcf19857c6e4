import type { FhirResource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { recordFromResources } from '../../src/data/record-builder.js';

const condition = (id: string, subject?: string): FhirResource =>
  ({ resourceType: 'Condition', id, ...(subject ? { subject: { reference: subject } } : {}) }) as FhirResource;

describe('recordFromResources', () => {
  it('keeps a resource once when overlapping prefetch pages repeat it, but not across types', () => {
    const record = recordFromResources([
      condition('a', 'Patient/p1'),
      condition('a', 'Patient/p1'),
      { resourceType: 'Observation', id: 'a', subject: { reference: 'Patient/p1' } } as FhirResource,
      condition('b', 'Patient/p1'),
    ]);
    expect(record.conditions.map((c) => c.id)).toEqual(['a', 'b']);
    expect(record.observations.map((o) => o.id)).toEqual(['a']);
  });

  it("drops another patient's resources however the subject reference is written", () => {
    const record = recordFromResources(
      [
        condition('mine-relative', 'Patient/p1'),
        condition('mine-absolute', 'https://ehr.example.org/fhir/Patient/p1'),
        condition('mine-bare', 'p1'),
        condition('no-subject'),
        condition('theirs', 'Patient/p2'),
        condition('theirs-absolute', 'https://ehr.example.org/fhir/Patient/p10'),
        condition('theirs-prefix', 'Patient/p1x'),
      ],
      'p1',
    );
    expect(record.conditions.map((c) => c.id)).toEqual(['mine-relative', 'mine-absolute', 'mine-bare', 'no-subject']);
  });

  it("takes the patient's own Patient resource, not another's", () => {
    const record = recordFromResources(
      [
        { resourceType: 'Patient', id: 'p2' } as FhirResource,
        { resourceType: 'Patient', id: 'p1', birthDate: '1960-01-01' } as FhirResource,
      ],
      'p1',
    );
    expect(record.patient?.id).toBe('p1');
  });
});
