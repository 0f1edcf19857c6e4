import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFhirDate } from '../../src/findings/dates.js';

describe('FHIR dates', () => {
  it('reads each precision as a span', () => {
    expect(parseFhirDate('2014')).toMatchObject({ start: Date.UTC(2014, 0, 1), end: Date.UTC(2015, 0, 1) - 1 });
    expect(parseFhirDate('2014-02')).toMatchObject({ start: Date.UTC(2014, 1, 1), end: Date.UTC(2014, 2, 1) - 1 });
    expect(parseFhirDate('2014-02-28')).toMatchObject({ start: Date.UTC(2014, 1, 28), end: Date.UTC(2014, 2, 1) - 1 });
    expect(parseFhirDate('2009-08-19T19:33:18-04:00')?.start).toBe(Date.parse('2009-08-19T23:33:18Z'));
    expect(parseFhirDate('2009-08-19T19:33:18.715+02:00')?.start).toBe(Date.parse('2009-08-19T17:33:18.715Z'));
    expect(parseFhirDate('2009-08-19T19:33Z')?.start).toBe(Date.parse('2009-08-19T19:33:00Z'));
  });

  it('refuses what is not a FHIR date', () => {
    for (const bad of ['', '14', '2014-13', '2014-02-30', '2014-1-01', 'yesterday', '2014-02-01T25:00:00Z', '2014-02-01T10:00:00+0200', '2014-02-01 10:00', 42, null, {}]) {
      expect(parseFhirDate(bad), String(bad)).toBeUndefined();
    }
  });

  it('agrees with Date.parse on any valid instant', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), fc.integer({ min: -12, max: 14 }), (d, tz) => {
        const local = new Date(d.getTime() + tz * 3_600_000).toISOString().slice(0, 23);
        const zone = `${tz < 0 ? '-' : '+'}${String(Math.abs(tz)).padStart(2, '0')}:00`;
        const text = `${local}${zone}`;
        expect(parseFhirDate(text)?.start).toBe(Date.parse(text));
      }),
    );
  });
});
