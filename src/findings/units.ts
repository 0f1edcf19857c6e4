import ucum from '@lhncbc/ucum-lhc';

/** The part of @lhncbc/ucum-lhc we use (the package ships no typings). */
interface UcumUtils {
  convertUnitTo(
    from: string,
    value: number,
    to: string,
    options?: { molecularWeight?: number },
  ): { status: 'succeeded' | 'failed' | 'error'; toVal: number | null; msg: string[] };
  validateUnitString(unit: string): { status: 'valid' | 'invalid' | 'error'; msg?: string[] };
}

const utils = (ucum as unknown as { UcumLhcUtils: { getInstance(): UcumUtils } }).UcumLhcUtils.getInstance();

export function isValidUcum(unit: string): boolean {
  try {
    return utils.validateUnitString(unit).status === 'valid';
  } catch {
    return false;
  }
}

/**
 * Display spellings of units that EHRs send in `valueQuantity.unit` with no UCUM `code`, mapped to the
 * UCUM code they mean. Only names, never factors: ucum-lhc still does every conversion. Without this a
 * temperature charted as 101.8 "°F" (or 38.3 "C", which UCUM reads as coulomb) was not read, and a
 * fever went unseen.
 */
const DISPLAY_UNITS: Readonly<Record<string, string>> = {
  '°c': 'Cel', 'ºc': 'Cel', '℃': 'Cel', c: 'Cel', degc: 'Cel', 'deg c': 'Cel', 'degrees c': 'Cel', celsius: 'Cel', 'degrees celsius': 'Cel', centigrade: 'Cel',
  '°f': '[degF]', 'ºf': '[degF]', '℉': '[degF]', f: '[degF]', degf: '[degF]', 'deg f': '[degF]', 'degrees f': '[degF]', fahrenheit: '[degF]', 'degrees fahrenheit': '[degF]',
  lb: '[lb_av]', lbs: '[lb_av]', pound: '[lb_av]', pounds: '[lb_av]', oz: '[oz_av]',
  'mm/hr': 'mm/h', 'mm/hour': 'mm/h', mcg: 'ug', 'mcg/l': 'ug/L', 'mcg/dl': 'ug/dL',
};

/** The UCUM code a display spelling stands for, when it is one of the spellings above. */
export function ucumForDisplay(unit: string): string | undefined {
  return DISPLAY_UNITS[unit.trim().toLowerCase().replace(/\s+/g, ' ')];
}

export type Conversion = { ok: true; value: number; note?: string } | { ok: false; reason: string };

const cache = new Map<string, { factor?: number; affine?: true; note?: string; reason?: string }>();

/**
 * Converts with ucum-lhc, never with a hand-written factor table. Linear units are converted once per
 * unit pair and cached as a factor; special (affine) units such as [degF] are converted per value.
 */
export function convertUnit(value: number, from: string, to: string, molecularWeight?: number): Conversion {
  if (!Number.isFinite(value)) return { ok: false, reason: 'value is not a finite number' };
  const key = `${from}\u0000${to}\u0000${molecularWeight ?? ''}`;
  let entry = cache.get(key);
  if (!entry) {
    entry = probe(from, to, molecularWeight);
    cache.set(key, entry);
  }
  if (entry.reason !== undefined) return { ok: false, reason: entry.reason };
  if (entry.factor !== undefined) return withNote(value * entry.factor, entry.note);
  const r = safeConvert(from, value, to, molecularWeight);
  return r.ok ? withNote(r.value, entry.note) : r;
}

function withNote(value: number, note: string | undefined): Conversion {
  return note === undefined ? { ok: true, value } : { ok: true, value, note };
}

function probe(from: string, to: string, molecularWeight?: number): { factor?: number; affine?: true; note?: string; reason?: string } {
  const one = safeConvert(from, 1, to, molecularWeight);
  if (!one.ok) return { reason: one.reason };
  const two = safeConvert(from, 2, to, molecularWeight);
  if (!two.ok) return { reason: two.reason };
  const zero = safeConvert(from, 0, to, molecularWeight);
  const note = one.note;
  const linear = zero.ok && Math.abs(zero.value) < 1e-12 && Math.abs(two.value - 2 * one.value) < 1e-9 * Math.abs(one.value || 1);
  return linear ? { factor: one.value, ...(note ? { note } : {}) } : { affine: true, ...(note ? { note } : {}) };
}

function safeConvert(from: string, value: number, to: string, molecularWeight?: number): Conversion {
  try {
    // Mass <-> substance (mg/dL <-> mmol/L) needs the analyte's molar mass; ucum-lhc does the arithmetic.
    const r = molecularWeight === undefined ? utils.convertUnitTo(from, value, to) : utils.convertUnitTo(from, value, to, { molecularWeight });
    if (r.status === 'succeeded' && typeof r.toVal === 'number' && Number.isFinite(r.toVal)) {
      // ucum-lhc accepts some non-UCUM spellings (degF for [degF]) and says so; keep that visible.
      return r.msg.length > 0 ? { ok: true, value: r.toVal, note: r.msg.join(' ') } : { ok: true, value: r.toVal };
    }
    return { ok: false, reason: r.msg.join(' ') || `cannot convert ${from} to ${to}` };
  } catch (err) {
    return { ok: false, reason: `cannot convert ${from} to ${to}: ${(err as Error).message}` };
  }
}
