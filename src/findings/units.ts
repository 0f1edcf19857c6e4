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
