import { describe, expect, it } from 'vitest';
import { daysAgo, observation, stateOf } from './support.js';

/**
 * EHRs often send only the display unit of a quantity (`valueQuantity.unit`), with no UCUM code. A
 * fever charted as 101.2 "°F", or 38.3 "C" (which UCUM reads as coulomb), must still be read.
 */
describe('units charted only as display text', () => {
  const temperature = (value: number, unitText: string, code = '8310-5') =>
    observation({ code, value, unit: null, unitText, effective: daysAgo(1) });

  it.each(['°F', 'F', 'degF', 'deg F', 'Fahrenheit', 'ºF'])('a temperature of 101.2 %s is a fever, 98.6 is not', async (unit) => {
    expect(await stateOf('FEVER', [temperature(101.2, unit)])).toBe('present');
    expect(await stateOf('FEVER', [temperature(98.6, unit)])).toBe('absent');
  });

  it.each(['°C', 'C', 'degC', 'deg C', 'Celsius', '℃'])('an axillary temperature of 38.3 %s is a fever, 37.0 is not', async (unit) => {
    expect(await stateOf('FEVER', [temperature(38.3, unit, '8328-7')])).toBe('present');
    expect(await stateOf('FEVER', [temperature(37.0, unit, '8328-7')])).toBe('absent');
  });

  it('a unit that names nothing known stays unreadable: the fever check is unknown, not absent', async () => {
    expect(await stateOf('FEVER', [temperature(101.2, 'units')])).toBe('unknown');
  });

  it('body weight in "lbs" counts toward weight loss like [lb_av]', async () => {
    const weight = (value: number, days: number) => observation({ code: '29463-7', value, unit: null, unitText: 'lbs', effective: daysAgo(days) });
    expect(await stateOf('WTLOSS', [weight(200, 150), weight(185, 2)])).toBe('present');
    expect(await stateOf('WTLOSS', [weight(200, 150), weight(198, 2)])).toBe('absent');
  });
});
