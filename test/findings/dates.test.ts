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

  it('places every calendar day of years 0001-9999 where Date does, leap days included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        // setUTCFullYear, because Date.UTC reads years 0-99 as 1900-1999.
        const ref = new Date(0);
        ref.setUTCFullYear(y, m - 1, d);
        const text = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        if (ref.getUTCMonth() !== m - 1) expect(parseFhirDate(text), text).toBeUndefined();
        else expect(parseFhirDate(text)?.start, text).toBe(ref.getTime());
      }),
      { numRuns: 2000 },
    );
    expect(parseFhirDate('2000-02-29')).toBeDefined();
    expect(parseFhirDate('1900-02-29')).toBeUndefined();
    expect(parseFhirDate('0050')?.start).toBe(new Date('0050-01-01T00:00:00Z').getTime());
  });
});
